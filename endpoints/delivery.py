"""Deliveries as rows: created by ingest, retried by people, counted for the health figures,
pruned after ENDPOINTS_LOG_RETENTION_DAYS. Sending them is the job of endpoints/sender/; what a
request to each kind of target looks like is endpoints/targets/.

Every message reaches each of its targets at least once, in order per device (a lane). The ingest
worker creates one Delivery row per message and target (`deliveries_create`) and, after commit,
wakes the deliveries queue, which starts a sender unless one is running.
"""
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from endpoints import targets, templating
from endpoints.models import Attempt, Connection, Delivery, Endpoint
from endpoints.targets import connection as connection_kind
from endpoints.targets import endpoint as endpoint_kind
from endpoints.transport import HttpAnswer, TransportError, headers_check, http_send, truncate
from platform.database.bulk import rows_insert

logger = logging.getLogger(__name__)
connection_downlink_url = connection_kind.downlink_url


@dataclass
class DeliveryItem:
    """What a delivery needs to know of a message, in plain values (endpoints knows no devices)."""

    owner_id: int
    endpoint_pk: int | None
    connection_pks: tuple[Any, ...]
    message_id: int
    device_id: str
    device_name: str
    payload: object
    ts: int


DELIVERY_COLUMNS = ("owner_id", "message_id", "device_id", "device_name", "payload", "ts", "next_attempt_at",
                    "endpoint_id", "connection_id", "lane")


def deliveries_create(*, items: Iterable[DeliveryItem]) -> int:
    """Creates one pending Delivery per message and target: the endpoint if it is enabled, each
    active connection; all must belong to the message's owner. Idempotent: the unique
    (target, message) constraints make a second call for the same messages create nothing.
    Call inside the ingest transaction; the deliveries queue is woken after commit."""
    items = list(items)
    endpoint_pks = {i.endpoint_pk for i in items if i.endpoint_pk}
    connection_pks = {pk for i in items for pk in i.connection_pks}
    endpoints = set(Endpoint.objects.filter(pk__in=endpoint_pks, enabled=True).values_list("pk", "owner_id")) \
        if endpoint_pks else set()
    connections = set(Connection.objects.filter(pk__in=connection_pks, active=True)
                      .values_list("pk", "owner_id")) if connection_pks else set()
    now = timezone.now()
    rows = []
    for item in items:
        common = (item.owner_id, item.message_id, item.device_id, item.device_name, item.payload, item.ts, now)
        if (item.endpoint_pk, item.owner_id) in endpoints:
            rows.append((*common, item.endpoint_pk, None,
                         targets.lane_of(endpoint_pk=item.endpoint_pk, device_id=item.device_id)))
        rows.extend((*common, None, pk, targets.lane_of(connection_pk=pk, device_id=item.device_id))
                    for pk in item.connection_pks if (pk, item.owner_id) in connections)
    if rows:
        rows_insert(Delivery, DELIVERY_COLUMNS, rows)
        transaction.on_commit(deliveries_wake)
    return len(rows)


def deliveries_wake() -> None:
    """Wakes the deliveries queue (a sender starts unless one runs). A failure is harmless: the
    rows are committed and the beat redrive finds them."""
    from endpoints.tasks import dispatch_deliveries_task

    try:
        dispatch_deliveries_task.delay()
    except Exception:  # the broker being down must not fail the ingest batch
        logger.warning("could not wake the deliveries queue; the redrive will send them", exc_info=True)


def delivery_retry(*, delivery: Delivery) -> bool:
    """Puts a failed delivery back in the queue with a fresh retry schedule; it goes before newer
    pending deliveries of its target (order by id). Returns False unless it was failed."""
    requeued = Delivery.objects.filter(pk=delivery.pk, state=Delivery.FAILED).update(
        state=Delivery.PENDING, attempts=0, next_attempt_at=timezone.now())
    if requeued:
        transaction.on_commit(deliveries_wake)
    return bool(requeued)


def endpoint_call(*, endpoint: Endpoint, payload: Any, now_ms: int, device_id: str = "",
                  device_name: str = "") -> HttpAnswer:
    """Sends one request to an endpoint now, with `payload` as the message (of `device_id`, if given:
    the web page's test as if from a device), and logs it as a test call without retries (in the
    log, not in the health figures). Returns the HttpAnswer; raises TransportError or TemplateError."""
    # Created `failed` and settled below: never a pending row the queue could pick up meanwhile.
    delivery = Delivery.objects.create(owner_id=endpoint.owner_id, endpoint=endpoint, payload=payload, ts=now_ms,
                                       state=Delivery.FAILED, next_attempt_at=None, device_id=device_id,
                                       device_name=device_name, test=True,
                                       # Retried from the log, it waits in line with this device's
                                       # messages to this endpoint, not in a lane every user's share.
                                       lane=targets.lane_of(endpoint_pk=endpoint.pk, device_id=device_id))
    url, status, ms, answer, error = "", None, 0, "", ""
    try:
        method, url, headers, body = endpoint_kind.request(endpoint, delivery)
        headers_check(headers)
        response = http_send(method=method, url=url, headers=headers, body=body, timeout=endpoint.timeout)
        status, ms, answer = response.status, response.ms, response.body
        if not response.ok:
            error = f"HTTP {status}: only a 2xx answer counts as delivered."
        return response
    except (TransportError, templating.TemplateError) as exc:
        error = str(exc)
        raise
    finally:
        Attempt.objects.create(delivery=delivery, url=truncate(url, 2000), status_code=status, ms=ms,
                               response_body=truncate(answer), error=error)
        ok = not error
        Delivery.objects.filter(pk=delivery.pk).update(
            attempts=1, last_status=status, last_error=error, state=Delivery.DELIVERED if ok else Delivery.FAILED,
            delivered_at=timezone.now() if ok else None)


def deliveries_retry_now(*, target: Endpoint | Connection) -> int:
    """"Retry now" on an endpoint or application: its pending deliveries waiting for a retry (and,
    for an application, the blame period) are due at once. Returns how many were waiting."""
    field = "endpoint" if isinstance(target, Endpoint) else "connection"
    now = timezone.now()
    with transaction.atomic():
        waiting = Delivery.objects.filter(**{field: target}, state=Delivery.PENDING, next_attempt_at__gt=now).update(
            next_attempt_at=now)
        if isinstance(target, Connection):
            Connection.objects.filter(pk=target.pk, blamed_until__gt=now).update(blamed_until=now)
        transaction.on_commit(deliveries_wake)
    return waiting


def deliveries_statistics(*, target: Endpoint | Connection) -> tuple[dict[str, int], datetime | None]:
    """{"delivered", "failed", "pending", "oldestPendingSeconds"} over the target's deliveries still
    in the log (one aggregate query), and when the next attempt is due (None: nothing waits). Test
    calls are left out: they say how the receiver answered a person's try, not how deliveries go."""
    field = "endpoint" if isinstance(target, Endpoint) else "connection"
    pending = Q(state=Delivery.PENDING)
    row = Delivery.objects.filter(**{field: target}, test=False).aggregate(
        delivered=Count("id", filter=Q(state=Delivery.DELIVERED)), failed=Count("id", filter=Q(state=Delivery.FAILED)),
        pending=Count("id", filter=pending), oldest=Min("created", filter=pending),
        next_at=Min("next_attempt_at", filter=pending))
    now = timezone.now()
    next_at = row["next_at"]
    if next_at and isinstance(target, Connection) and target.blamed_until and target.blamed_until > next_at:
        next_at = target.blamed_until
    statistics = {"delivered": row["delivered"], "failed": row["failed"], "pending": row["pending"],
                  "oldestPendingSeconds": int((now - row["oldest"]).total_seconds()) if row["oldest"] else 0}
    return statistics, (next_at if next_at and next_at > now else None)


def deliveries_prune(*, older_than_days: int, now: datetime | None = None, batch_size: int = 1000,
                     deadline_s: float = 50.0) -> int:
    """Deletes delivered and failed deliveries, with their attempts, whose last activity (creation
    and every attempt) is older than `older_than_days`; pending ones are never touched. Works in
    batches of `batch_size`, each its own short transaction, and starts no new batch after
    `deadline_s` seconds: the next run carries on. Idempotent; safe with several workers (rows are
    claimed with SKIP LOCKED, and a delivery retried meanwhile is pending, so no longer matched).
    Returns how many deliveries were deleted."""
    if older_than_days <= 0:  # 0 = keep the log forever
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=older_than_days)
    recent_attempt = Attempt.objects.filter(delivery=OuterRef("pk"), at__gte=cutoff)
    settled = (Delivery.objects.filter(state__in=(Delivery.DELIVERED, Delivery.FAILED), created__lt=cutoff)
               .exclude(Exists(recent_attempt)))
    started, deleted = time.monotonic(), 0
    while True:
        with transaction.atomic():
            pks = list(settled.select_for_update(skip_locked=True).order_by("id")
                       .values_list("pk", flat=True)[:batch_size])
            if pks:
                # Attempts first, in one statement, so the delivery delete has nothing to collect.
                Attempt.objects.filter(delivery_id__in=pks).delete()
                Delivery.objects.filter(pk__in=pks).delete()
        deleted += len(pks)
        if len(pks) < batch_size or time.monotonic() - started >= deadline_s:
            break
    return deleted
