"""The Sender loop: partitions, claims, lanes, dispatch and batched settles (see the package's
docstring for the guarantees)."""
import logging
import os
import queue
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from endpoints import templating
from endpoints.models import Delivery
from endpoints.partitions import Holder, limit_share, partition_count, senders_live
from endpoints.sender.io import Claimed, IoLoop, Outcome, failed_outcome
from endpoints.sender.rows import (
    attempts_insert,
    claim,
    claimable,
    newest_pending,
    senders_start,
    senders_wake_next,
)
from endpoints.targets import KINDS, Request, kind_of
from endpoints.transport import TransportError, truncate

logger = logging.getLogger(__name__)

CLAIM = 500  # deliveries claimed per query
WINDOW = 4000  # deliveries a sender holds at most (queued and in flight)
POLL = 0.05  # seconds between claims when the last one found less than it could take
ROW_LEASE = timedelta(hours=1)  # a marker; cleared by whoever takes the partition over
TARGETS_FRESH = 5.0  # seconds a loaded target (its URL, headers, state) is used before reloading
RESCAN = 1.0  # seconds between full looks (from the oldest pending delivery) at the held partitions

TargetKey = tuple[str, Any]  # (kind name, target pk)
# What one settle batch says about a target: (ok, blame or None, the latest send time of its successes).
TargetOutcome = tuple[bool, Any, datetime | None]


def _target_key(delivery: Delivery | Claimed) -> TargetKey:
    name, _ = kind_of(delivery)
    return name, delivery.endpoint_id or delivery.connection_id


def _target_outcome(previous: TargetOutcome | None, *, ok: bool, blame: Any = None,
                    sent_at: datetime | None = None) -> TargetOutcome:
    """Folds one more outcome into what a batch says about its target. A failure wins over any
    success in the same batch (else a busy target that fails some requests is never paused), and
    its blame is kept whatever comes after it."""
    if not ok:
        kept = previous[1] if previous and not previous[0] else None
        return False, blame or kept, None
    if previous and not previous[0]:
        return previous
    latest = previous[2] if previous else None
    if latest is None or (sent_at is not None and sent_at > latest):
        latest = sent_at
    return True, None, latest


class Sender:
    """Runs until `budget` seconds have passed (then finishes what is in flight) or nothing was
    sendable for `idle_exit` seconds. run() returns how many attempts it made."""

    def __init__(self, *, budget: float | None = None, idle_exit: float = 2.0, name: str | None = None) -> None:
        self.budget = settings.DELIVERY_SENDER_SECONDS if budget is None else budget
        self.idle_exit = idle_exit
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.partitions = Holder(self.name)
        self.lanes: dict[int, deque[Claimed]] = {}  # lane -> deque of claimed deliveries, oldest first
        self.busy: set[int] = set()  # lanes with a delivery in flight
        self.ready: deque[int] = deque()  # lanes whose head may be sent
        self.waiting: dict[TargetKey, deque[int]] = {}  # target key -> lanes held back by the target's in-flight limit
        self.flying: Counter[TargetKey] = Counter()  # target key -> requests in flight
        self.in_flight = 0
        self.targets: dict[TargetKey, tuple[float, Any]] = {}  # target key -> (loaded at, target)
        self.immediate: list[Outcome] = []  # outcomes known without sending (a request that cannot be built)
        self.more_work = False
        self.cursor = 0  # the newest delivery id looked at
        self.next_rescan = 0.0

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> int:
        try:
            from django.core.cache import cache

            cache.delete("deliveries:sender-queued")  # a wake-up from now on may queue another
        except Exception:  # noqa: BLE001, S110  any cache failure: the flag expires in 5 s anyway
            pass
        io = IoLoop()
        attempts = 0
        started = last_work = time.monotonic()
        next_balance = next_claim = 0.0
        try:
            while True:
                now = time.monotonic()
                if now >= next_balance:
                    self._balance()
                    next_balance = now + 1.0
                stopping = now - started > self.budget or not self.partitions.valid()
                outcomes = self._collect(io, wait=0.02 if self.in_flight else 0)
                if outcomes:
                    if not stopping:
                        # A success frees its target's slot now: other lanes of the target are sent
                        # while this batch is written down (a lane itself waits for its write).
                        self._slots_free([o for o in outcomes if o.ok])
                        self._dispatch(io)
                    self._settle(outcomes)
                    attempts += len(outcomes)
                    last_work = now
                held = self._held()
                if not stopping and now >= next_claim and held < WINDOW and self._sendable_partitions():
                    limit = min(CLAIM, WINDOW - held)
                    claimed = self._claim(limit)
                    self.more_work = claimed == limit
                    next_claim = now if self.more_work else now + POLL
                    if claimed:
                        last_work = now
                if not stopping:
                    self._dispatch(io)
                if self.in_flight == 0 and not self.immediate:
                    if stopping:
                        break
                    if held == 0 and now - last_work > self.idle_exit:
                        break
                    if not outcomes:
                        time.sleep(min(POLL, max(0.0, next_claim - time.monotonic())) or 0.005)
        finally:
            self._drop_all()
            io.close()
            self.partitions.leave()
        # Work committed as we went idle, or left at the end of the budget: another sender takes
        # our partitions over within a second; with none running, queue one now rather than
        # leave it for the redrive. Nothing due: a wake-up for the next retry or blame end.
        if not self._work_left():
            senders_wake_next(timezone.now())
        elif senders_live() == 0:
            senders_start(force=True)
        return attempts

    def _held(self) -> int:
        return sum(len(q) for q in self.lanes.values()) + self.in_flight

    def _sendable_partitions(self) -> set[int]:
        return self.partitions.held - self.partitions.releasing

    def _work_left(self) -> bool:
        return claimable(timezone.now()).exists()

    # -- partitions ----------------------------------------------------------------------------

    def _balance(self) -> None:
        before = set(self.partitions.held)
        lost = self.partitions.balance()
        if self.partitions.held - before:
            self.next_rescan = 0.0  # partitions taken over: look at their old deliveries now
        count = partition_count()
        if lost:
            self._drop(lambda lane: lane % count in lost, release=False)
        releasing = set(self.partitions.releasing)
        if releasing:
            self._drop(lambda lane: lane % count in releasing)
            idle = {p for p in releasing if not any(lane % count == p for lane in self.busy)}
            if idle:
                self.partitions.release(idle)
        if self.more_work and self.partitions.live < settings.DELIVERY_MAX_SENDERS:
            senders_start(helper=True)

    # -- claim, dispatch, collect, settle ------------------------------------------------------

    def _claim(self, limit: int) -> int:
        """Claims due deliveries of the held partitions in id order, skipping any behind an
        older pending delivery of its lane that is not due (a retry waiting), and queues them."""
        now = timezone.now()
        full = time.monotonic() >= self.next_rescan
        if full:
            self.next_rescan = time.monotonic() + RESCAN
        # Looked at before the claim: taken after it, a batch committed in between would lie
        # behind the cursor unseen until the next full look (up to RESCAN late).
        newest = 0 if full else newest_pending()
        sendable = self._sendable_partitions()
        partitions = frozenset(sendable) if len(sendable) < partition_count() else None
        rows = [Claimed(*values) for values in claim(now, 0 if full else self.cursor, partitions, limit,
                                                     now + ROW_LEASE, Claimed.__slots__)]
        if full and len(rows) == limit:
            self.next_rescan = 0.0  # more old ones: look again from the start next time
        if not rows:
            self.cursor = max(self.cursor, newest)
            return 0
        self.cursor = max(self.cursor, rows[-1].pk)
        self._targets_load(rows)
        for delivery in rows:
            lane = self.lanes.get(delivery.lane)
            if lane is None:
                lane = self.lanes[delivery.lane] = deque()
            lane.append(delivery)
            if len(lane) == 1 and delivery.lane not in self.busy:
                self.ready.append(delivery.lane)
        return len(rows)

    def _targets_load(self, rows: list[Claimed]) -> None:
        fresh = time.monotonic() - TARGETS_FRESH
        wanted: dict[str, set[Any]] = {}  # target kind -> target pks
        for delivery in rows:
            key = _target_key(delivery)
            loaded = self.targets.get(key)
            if loaded is None or loaded[0] < fresh:
                wanted.setdefault(key[0], set()).add(key[1])
        for name, pks in wanted.items():
            for pk, target in KINDS[name].Model.objects.select_related("owner").in_bulk(pks).items():
                self.targets[(name, pk)] = (time.monotonic(), target)

    def _limit(self, key: TargetKey, target: Any) -> int:
        limit = getattr(target, "max_in_flight", None) or settings.DELIVERY_MAX_IN_FLIGHT
        return limit_share(limit, live=self.partitions.live, rank=self.partitions.rank)

    def _dispatch(self, io: IoLoop) -> None:
        batch: list[tuple[Claimed, Request, float]] = []
        for _ in range(len(self.ready)):
            lane_no = self.ready.popleft()
            lane = self.lanes.get(lane_no)
            if not lane or lane_no in self.busy:
                continue
            delivery = lane[0]
            key = _target_key(delivery)
            loaded = self.targets.get(key)
            if loaded is None:  # the target was deleted: its deliveries went with it
                self._drop(lambda n, lane_no=lane_no: n == lane_no)
                continue
            target = loaded[1]
            if self.flying[key] >= self._limit(key, target):
                self.waiting.setdefault(key, deque()).append(lane_no)
                continue
            lane.popleft()
            self.busy.add(lane_no)
            self.flying[key] += 1
            self.in_flight += 1
            kind = KINDS[key[0]]
            try:
                request = kind.request(target, delivery)
            except (templating.TemplateError, TransportError) as exc:
                self.immediate.append(failed_outcome(delivery, exc))
                continue
            except Exception as exc:  # a template we did not foresee: fail it, never wedge the lane
                logger.exception("cannot build the request of delivery %s", delivery.pk)
                self.immediate.append(Outcome(delivery, error=f"The request cannot be built: {exc!r}",
                                              permanent=True))
                continue
            batch.append((delivery, request, kind.timeout(target)))
        if batch:
            # One clock reading per batch, taken before any of it is sent: a success may clear
            # only a blame that began before its request left (connection.settle).
            io.submit(batch, timezone.now())

    def _collect(self, io: IoLoop, *, wait: float) -> list[Outcome]:
        outcomes, self.immediate = self.immediate, []
        try:
            if wait and not outcomes:
                outcomes.append(io.done.get(timeout=wait))
            while len(outcomes) < CLAIM:
                outcomes.append(io.done.get_nowait())
        except queue.Empty:
            pass
        return outcomes

    def _settle(self, outcomes: list[Outcome]) -> None:
        """Records every outcome in one transaction: attempts, deliveries, target states, and the
        row leases given back for the lanes a failure holds up."""
        now = timezone.now()
        delivered: dict[int | None, list[int]] = {}  # answer status -> delivery pks
        failed: list[tuple[int, Outcome]] = []
        retry: list[tuple[int, datetime, Outcome]] = []
        release: list[int] = []
        target_state: dict[TargetKey, TargetOutcome] = {}
        for outcome in outcomes:
            delivery = outcome.delivery
            key = _target_key(delivery)
            kind = KINDS[key[0]]
            target = self.targets[key][1] if key in self.targets else None
            if outcome.ok:
                delivered.setdefault(outcome.status, []).append(delivery.pk)
                target_state[key] = _target_outcome(target_state.get(key), ok=True, sent_at=outcome.sent_at)
                continue
            attempts = delivery.attempts + 1
            if outcome.permanent or target is None:
                failed.append((delivery.pk, outcome))
                continue
            next_at, blame = kind.after_failure(target, delivery, now, attempts=attempts)
            if next_at is None:
                failed.append((delivery.pk, outcome))
                continue
            retry.append((delivery.pk, next_at, outcome))
            # A full look finds it again when it is due (the incremental one only looks ahead).
            self.next_rescan = min(self.next_rescan, time.monotonic() + max(0.0, (next_at - now).total_seconds()))
            target_state[key] = _target_outcome(target_state.get(key), ok=False, blame=blame)
            # The rest of the lane waits for this one; for a blamed target, every lane of it.
            release += self._drop(lambda n, lane=delivery.lane: n == lane, release=False)
            if blame:
                release += self._drop(lambda n, key=key: self._lane_target(n) == key, release=False)
        with transaction.atomic():
            attempts_insert([(o.delivery.pk, now, truncate(o.url, 2000), o.status, o.ms, truncate(o.body), o.error)
                             for o in outcomes])
            for status, pks in delivered.items():
                Delivery.objects.filter(pk__in=pks).update(
                    state=Delivery.DELIVERED, delivered_at=now, attempts=F("attempts") + 1, last_status=status,
                    last_error="", next_attempt_at=None, leased_until=None)
            for pk, outcome in failed:
                Delivery.objects.filter(pk=pk).update(
                    state=Delivery.FAILED, attempts=F("attempts") + 1, last_status=outcome.status,
                    last_error=outcome.error, next_attempt_at=None, leased_until=None)
            for pk, next_at, outcome in retry:
                Delivery.objects.filter(pk=pk).update(
                    attempts=F("attempts") + 1, last_status=outcome.status, last_error=outcome.error,
                    next_attempt_at=next_at, leased_until=None)
            if release:
                Delivery.objects.filter(pk__in=release).update(leased_until=None)
            for key, (ok, blame, sent_at) in target_state.items():
                if key in self.targets:
                    KINDS[key[0]].settle(self.targets[key][1], ok=ok, now=now, blame=blame, sent_at=sent_at)
        self._slots_free(outcomes)
        for outcome in outcomes:
            delivery = outcome.delivery
            self.busy.discard(delivery.lane)
            lane = self.lanes.get(delivery.lane)
            if lane:
                self.ready.append(delivery.lane)
            elif lane is not None:
                del self.lanes[delivery.lane]

    def _slots_free(self, outcomes: list[Outcome]) -> None:
        """Gives each outcome's request slot back to its target (once) and wakes the lanes that
        waited for one."""
        for outcome in outcomes:
            if outcome.freed:
                continue
            outcome.freed = True
            key = _target_key(outcome.delivery)
            self.in_flight -= 1
            self.flying[key] -= 1
            for lane_no in self.waiting.pop(key, ()):
                self.ready.append(lane_no)

    def _lane_target(self, lane_no: int) -> TargetKey | None:
        lane = self.lanes.get(lane_no)
        return _target_key(lane[0]) if lane else None

    # `which(lane)`; the callers bind their loop variables as defaults, hence the `...`.
    def _drop(self, which: Callable[..., bool], *, release: bool = True) -> list[int]:
        """Forgets the queued (not in-flight) deliveries of the lanes `which` selects; gives their
        row leases back now (release=True) or returns their ids for the caller's transaction."""
        dropped = []
        for lane_no in [n for n in self.lanes if which(n)]:
            dropped += [d.pk for d in self.lanes[lane_no]]
            self.lanes[lane_no].clear()
            if lane_no not in self.busy:
                del self.lanes[lane_no]
        if release and dropped:
            Delivery.objects.filter(pk__in=dropped).update(leased_until=None)
        return dropped

    def _drop_all(self) -> None:
        try:
            self._drop(lambda n: True)
        except Exception:  # the database is gone: the next holder of the partition clears the leases
            logger.warning("could not give back row leases", exc_info=True)
