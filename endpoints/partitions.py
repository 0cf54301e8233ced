"""Who sends which lanes. Lanes are hashed into DELIVERY_PARTITIONS partitions; each partition is
held by at most one sender at a time, under a lease it renews every second, so one device's
deliveries to one target are only ever sent by one process, in order, while the partitions, and
so the work, are shared out among all running senders (on any number of hosts).

Each sender says it is alive (DeliverySender.seen) and takes or gives up partitions until it holds
its share, ceil(partitions / live senders). A sender that dies stops renewing; its partitions are
free again after LEASE seconds and whoever takes one first clears the stale row leases in it.
Plain conditional UPDATEs, so it works the same on PostgreSQL and SQLite."""
import math
import random
import time
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from endpoints.models import Delivery, DeliveryPartition, DeliverySender

LEASE = 30  # seconds a partition stays held without renewal
SEEN = 5  # a sender not seen for this long no longer counts


def partition_count() -> int:
    return settings.DELIVERY_PARTITIONS


def in_partitions(queryset: QuerySet[Delivery], numbers: Iterable[int]) -> QuerySet[Delivery]:
    """Deliveries whose lane falls in those partitions."""
    return queryset.annotate(partition=F("lane") % partition_count()).filter(partition__in=list(numbers))


def limit_share(limit: int, *, live: int, rank: int) -> int:
    """This sender's part of a per-target limit: the floor of an even share, the remainder going
    to the lowest ranks, so the parts of all live senders add up to the limit. A limit below the
    number of senders still gives each one request: a sender is the only one that may send its
    lanes, and a part of 0 would hold them up for as long as it runs."""
    return max(1, limit // live + (1 if rank < limit % live else 0))


def senders_live() -> int:
    return DeliverySender.objects.filter(seen__gte=timezone.now() - timedelta(seconds=SEEN)).count()


class Holder:
    """One sender's partitions: `held` (sendable unless also in `releasing`), renewed by balance()."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.held: set[int] = set()
        self.releasing: set[int] = set()
        self.renewed = 0.0
        self.live = 1
        self.rank = 0  # this sender's place among the live ones (by name): who gets a limit's remainder

    def valid(self) -> bool:
        """False when the leases may have run out (the sender stalled): stop sending until renewed."""
        return time.monotonic() - self.renewed < LEASE - 5

    def balance(self) -> set[int]:
        """Heartbeat, renew, then take or mark for release until the share is right. Returns the
        partitions lost (taken over by another sender after a stall): drop their work at once."""
        now = timezone.now()
        DeliverySender.objects.update_or_create(name=self.name, defaults={"seen": now})
        lost = set()
        if self.held:
            DeliveryPartition.objects.filter(number__in=self.held, holder=self.name).update(
                lease_until=now + timedelta(seconds=LEASE))
            mine = set(DeliveryPartition.objects.filter(number__in=self.held, holder=self.name)
                       .values_list("number", flat=True))
            lost = self.held - mine
            self.held -= lost
            self.releasing -= lost
        self.renewed = time.monotonic()
        count = partition_count()
        if DeliveryPartition.objects.count() < count:
            DeliveryPartition.objects.bulk_create([DeliveryPartition(number=n) for n in range(count)],
                                                  ignore_conflicts=True)
        self._live_count()
        share = math.ceil(count / self.live)
        active = self.held - self.releasing
        if len(active) > share:
            self.releasing |= set(sorted(active)[share:])
        elif len(active) < share:
            free = list(DeliveryPartition.objects.filter(number__lt=count)
                        .filter(Q(holder="") | Q(lease_until__lt=now)).exclude(number__in=self.held)
                        .values_list("number", flat=True))
            random.shuffle(free)
            for number in free[:share - len(active)]:
                taken = DeliveryPartition.objects.filter(number=number).filter(
                    Q(holder="") | Q(lease_until__lt=now)).update(holder=self.name,
                                                                  lease_until=now + timedelta(seconds=LEASE))
                if taken:
                    # Row leases left by a sender that died while holding this partition.
                    in_partitions(Delivery.objects.filter(state=Delivery.PENDING, leased_until__isnull=False),
                                  [number]).update(leased_until=None)
                    self.held.add(number)
        if random.random() < 0.02:
            DeliverySender.objects.filter(seen__lt=now - timedelta(minutes=1)).delete()
        return lost

    def _live_count(self) -> None:
        names = list(DeliverySender.objects.filter(seen__gte=timezone.now() - timedelta(seconds=SEEN))
                     .order_by("name").values_list("name", flat=True))
        self.live = max(1, len(names))
        self.rank = names.index(self.name) if self.name in names else 0

    def release(self, numbers: Iterable[int]) -> None:
        numbers = set(numbers)
        DeliveryPartition.objects.filter(number__in=numbers, holder=self.name).update(holder="", lease_until=None)
        self.held -= numbers
        self.releasing -= numbers

    def leave(self) -> None:
        """Gives everything up and stops counting as a sender."""
        self.release(set(self.held))
        DeliverySender.objects.filter(name=self.name).delete()
