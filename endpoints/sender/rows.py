"""The SQL of the sender: what may be claimed, the attempts of a batch, and starting a sender."""
import functools
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Exists, Min, OuterRef, Q, QuerySet

from endpoints.models import Attempt, Delivery
from endpoints.partitions import in_partitions, partition_count, senders_live
from endpoints.targets import KINDS
from platform.database.bulk import rows_insert

logger = logging.getLogger(__name__)

# Retries and blame ends up to this far ahead get a wake-up of their own; later ones (endpoint
# retries hours away) are left to the beat redrive, for which 10 s late is nothing, and a broker
# holding eta tasks for hours redelivers them (Redis visibility timeout).
WAKE_HORIZON = timedelta(minutes=15)
WAKE_LATE = timedelta(milliseconds=100)  # a wake-up a little after the time, never before it


def attempts_insert(rows: Sequence[tuple[Any, ...]]) -> None:
    """Many Attempt rows (delivery pk, at, url, status code, ms, response body, error) in one
    statement (platform/database/bulk.py)."""
    rows_insert(Attempt, ("delivery_id", "at", "url", "status_code", "ms", "response_body", "error"), rows)


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


class _Claim(NamedTuple):
    """A claim's statement, made once per shape and kept: its SQL and parameters with the places
    of the values that change from claim to claim, and how to read its rows."""
    sql: str
    params: tuple[Any, ...]
    now_at: tuple[int, ...]
    after_at: tuple[int, ...]
    reader: Any  # the compiler of values_list(*fields): the columns' converters (JSON as text, UUIDs on SQLite)
    converters: dict[int, Any]
    pk_at: int


# Stand-ins while a shape is compiled, values no claim passes; the limit is a parameter too. Two
# sets: the places where the two compilations differ are the ones each claim fills in.
_NOWS = (datetime(2000, 1, 1, 0, 0, 0, 123457, tzinfo=UTC), datetime(2001, 2, 3, 4, 5, 6, 654321, tzinfo=UTC))
_AFTERS = (2**62 + 123457, 2**62 + 654321)
_LIMIT = 987654321
_claims = threading.local()  # per thread, as the compiler holds its thread's database connection


def _prepared_time(value: datetime) -> Any:
    """A time as every time of the claim's query is prepared (a datetime on PostgreSQL, text on SQLite)."""
    return Delivery._meta.get_field("leased_until").get_db_prep_value(value, connection)


def _claim_query(now: datetime, after: int, partitions: frozenset[int] | None) -> tuple[QuerySet[Delivery], str, tuple]:
    due = claimable(now, after=after)
    if partitions is not None:
        due = in_partitions(due, sorted(partitions))
    picked, params = due.order_by("id").values("id")[:_LIMIT].query.sql_with_params()
    if not picked.endswith(f" LIMIT {_LIMIT}"):
        raise RuntimeError(f"the claim's SQL does not end with its limit: {picked}")
    return due, picked.removesuffix(str(_LIMIT)) + "%s", tuple(params)


def _claim_compiled(after: bool, partitions: frozenset[int] | None, fields: tuple[str, ...]) -> _Claim:
    """The shape's statement, compiled twice with different stand-ins: every place where the two
    differ must hold the time or the cursor itself, or the SQL could not be reused (a time derived
    from now, say now - x, would be kept at the stand-in's), and that is refused here."""
    due, picked, first = _claim_query(_NOWS[0], _AFTERS[0] if after else 0, partitions)
    _, again, second = _claim_query(_NOWS[1], _AFTERS[1] if after else 0, partitions)
    nows = [_prepared_time(now) for now in _NOWS]
    now_at, after_at = [], []
    for at, (one, other) in enumerate(zip(first, second, strict=True), 1):  # 1: the lease comes first
        if one == other and type(one) is type(other):
            continue
        if [one, other] == nows:
            now_at.append(at)
        elif after and (one, other) == _AFTERS:
            after_at.append(at)
        else:
            raise RuntimeError(f"the claim's query holds a value derived from the time or the cursor ({one!r}), "
                               f"so it cannot be made once: {picked}")
    if again != picked or not now_at or bool(after_at) != after:
        raise RuntimeError(f"the claim's parameters are not where they were expected: {picked} {first}")
    # What values_list(*fields) would select, read through its own compiler: the columns to return
    # and their converters.
    reader = due.values_list(*fields).query.get_compiler(connection=connection)
    reader.setup_query()
    selected = [expression for expression, _, _ in reader.select]
    quote, lease = connection.ops.quote_name, Delivery._meta.get_field("leased_until")
    sql = (f"UPDATE {quote(Delivery._meta.db_table)} SET {quote(lease.column)} = %s "
           f"WHERE {quote(Delivery._meta.pk.column)} IN ({picked}) "
           f"RETURNING {', '.join(quote(expression.target.column) for expression in selected)}")
    params = (None, *first, _LIMIT)  # the lease first, the limit last: their places in the SQL
    return _Claim(sql, params, tuple(now_at), tuple(after_at), reader, reader.get_converters(selected),
                  list(fields).index("pk"))


def claim(now: datetime, after: int, partitions: frozenset[int] | None, limit: int, leased_until: datetime,
          fields: Sequence[str]) -> list[tuple[Any, ...]]:
    """The first `limit` deliveries of `claimable(now, after=after)` in id order (in `partitions`
    only, unless None: all of them), as tuples of `fields`, marked leased in the statement that
    picks them: one round trip. Building and compiling that query through the ORM cost several
    times what running it does (a sender claims every POLL at a steady rate), so its SQL is made
    once per shape (a full look or not, the partitions, the fields) and kept."""
    key = (bool(after), partitions, partition_count() if partitions is not None else 0, tuple(fields))
    shapes = getattr(_claims, "shapes", None)
    if shapes is None or len(shapes) > 64:  # partition sets change as senders come and go: a bound
        shapes = _claims.shapes = {}
    made = shapes.get(key)
    if made is None:
        made = shapes[key] = _claim_compiled(bool(after), partitions, tuple(fields))
    params = list(made.params)
    params[0], params[-1], prepared_now = _prepared_time(leased_until), limit, _prepared_time(now)
    for at in made.now_at:
        params[at] = prepared_now
    for at in made.after_at:
        params[at] = after
    with connection.cursor() as cursor:
        cursor.execute(made.sql, params)
        rows = cursor.fetchall()
    if made.converters:
        rows = list(made.reader.apply_converters(rows, made.converters))
    return sorted((tuple(row) for row in rows), key=lambda row: row[made.pk_at])  # RETURNING keeps no order


@functools.cache
def _newest_sql() -> tuple[str, tuple[Any, ...]]:
    return Delivery.objects.filter(state=Delivery.PENDING).order_by("-id").values("id")[:1].query.sql_with_params()


def newest_pending() -> int:
    """The newest pending delivery's id, or 0: looked at before each claim by the cursor, so its
    SQL is made once, as the claim's (the ORM's building took three quarters of its CPU)."""
    sql, params = _newest_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else 0


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


def next_due(now: datetime) -> datetime | None:
    """When the first pending delivery that is not due now becomes due: a retry's time or the
    end of a pause (a connection's blame). Two aggregates over the pending deliveries' index."""
    later = Delivery.objects.filter(state=Delivery.PENDING, next_attempt_at__gt=now)
    for kind in KINDS.values():
        later = later.filter(kind.available(now))
    times = [later.aggregate(first=Min("next_attempt_at"))["first"]]
    times += [kind.resumes_at(now) for kind in KINDS.values()]
    return min((t for t in times if t), default=None)


def senders_wake_next(now: datetime) -> bool:
    """Queues the redrive for the first retry or blame end within WAKE_HORIZON, so it is sent on
    time although no sender runs then (a sender stops after 2 s idle; the beat redrive alone is up
    to 10 s late). One wake-up per second of due time, however many senders and redrives ask
    (cache.add). Failures are harmless: the beat redrive still comes."""
    from django.core.cache import cache

    from endpoints.tasks import redrive_deliveries_task

    try:
        when = next_due(now)
        if when is None or when - now > WAKE_HORIZON:
            return False
        ahead = (when - now).total_seconds()
        if not cache.add(f"deliveries:wake:{int(when.timestamp())}", 1, timeout=int(ahead) + 30):
            return False
        eta = when + WAKE_LATE
        redrive_deliveries_task.apply_async(eta=eta, expires=eta + timedelta(seconds=30))
        return True
    except Exception:
        logger.warning("could not queue a delivery wake-up; the redrive will", exc_info=True)
        return False
