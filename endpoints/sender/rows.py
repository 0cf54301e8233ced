"""The SQL of the sender: what may be claimed, the attempts of a batch, and starting a sender."""
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, Min, OuterRef, Q, QuerySet

from endpoints.models import Attempt, Delivery
from endpoints.partitions import senders_live
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


def claim(due: QuerySet[Delivery], limit: int, leased_until: datetime, fields: Sequence[str]) -> list[tuple[Any, ...]]:
    """The first `limit` deliveries of `due` in id order, as tuples of `fields`, marked leased in
    the statement that picks them: one round trip, and no second statement naming every id."""
    picked, params = due.order_by("id").values("id")[:limit].query.sql_with_params()
    # What values_list(*fields) would select, read through its own compiler: the columns to return
    # and their converters (a JSON column comes as text, a UUID on SQLite as hex).
    reader = due.values_list(*fields).query.get_compiler(connection=connection)
    reader.setup_query()
    selected = [expression for expression, _, _ in reader.select]
    quote, lease = connection.ops.quote_name, Delivery._meta.get_field("leased_until")
    sql = (f"UPDATE {quote(Delivery._meta.db_table)} SET {quote(lease.column)} = %s "
           f"WHERE {quote(Delivery._meta.pk.column)} IN ({picked}) "
           f"RETURNING {', '.join(quote(expression.target.column) for expression in selected)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, (lease.get_db_prep_value(leased_until, connection), *params))
        rows = cursor.fetchall()
    converters = reader.get_converters(selected)
    if converters:
        rows = list(reader.apply_converters(rows, converters))
    at = list(fields).index("pk")
    return sorted((tuple(row) for row in rows), key=lambda row: row[at])  # RETURNING keeps no order


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
