"""The SQL of the sender: what may be claimed, the attempts of a batch, and starting a sender."""
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from endpoints.models import Attempt, Delivery
from endpoints.partitions import senders_live
from endpoints.targets import KINDS

logger = logging.getLogger(__name__)


def attempts_insert(rows: Sequence[tuple[Any, ...]], chunk: int = 200) -> None:
    """Many Attempt rows, one multi-row INSERT per `chunk`: Django's bulk_create spends more time
    building its statement than the database spends storing the rows."""
    from django.db import connection

    table = Attempt._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(f"INSERT INTO {table} (delivery_id, at, url, status_code, ms, response_body, error) "
                           f"VALUES {values}", [v for pk, at, *rest in part for v in (pk, adapt(at), *rest)])


def claimable(now: datetime, *, after: int = 0) -> QuerySet[Delivery]:
    """Pending deliveries a sender may claim now: due, not held, their target available, and not
    behind an older pending delivery of their lane that nobody holds and that is waiting for a
    retry. With `after` (the newest id a sender has looked at), only newer deliveries, and any
    older one nobody holds blocks its lane: it was skipped or came late, and the next full look
    (after=0) takes it first. Claims walk the ids upwards, so within one claim a lane's older
    delivery always comes before its newer ones."""
    waiting = Q(next_attempt_at__gt=now) | Q(id__lte=after) if after else Q(next_attempt_at__gt=now)
    blocked = Delivery.objects.filter(waiting, state=Delivery.PENDING, lane=OuterRef("lane"), id__lt=OuterRef("id"),
                                      leased_until__isnull=True)
    due = Delivery.objects.filter(state=Delivery.PENDING, next_attempt_at__lte=now, leased_until__isnull=True,
                                  id__gt=after)
    for kind in KINDS.values():
        due = due.filter(kind.available(now))
    return due.exclude(Exists(blocked))


def senders_start(*, force: bool = False, helper: bool = False) -> bool:
    """Queues a sender unless one is running (or was queued in the last seconds); `helper`: one
    more while one runs, `force`: in any case. A sender takes its share of the partitions, so a
    second one started while the first is busy halves the work of each. Failures are harmless:
    the beat redrive calls this again."""
    from django.core.cache import cache

    from endpoints.tasks import send_deliveries_task

    try:
        if not force and not helper and senders_live() > 0:
            return False
        if not force and not cache.add("deliveries:sender-queued", 1, timeout=5):
            return False
        send_deliveries_task.delay()
        return True
    except Exception:
        logger.warning("could not start a delivery sender; the redrive will", exc_info=True)
        return False
