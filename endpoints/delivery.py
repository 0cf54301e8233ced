"""The delivery engine: every message reaches each of its targets, at least once, in order.

A target is an endpoint or a connection. The ingest worker creates one Delivery row per message
and target (`deliveries_create`); after commit the deliveries queue is woken, finds the targets
whose oldest pending delivery is due (`deliveries_due_targets`) and sends each target's deliveries
in its own task (`target_deliver`), so a slow or dead target holds up only itself.

Order per target: only a target's oldest pending delivery is ever sent; the next one waits until
it is delivered or has failed for good. One worker at a time holds a target, through a lease on
its row (a conditional UPDATE, no transaction held open during HTTP); a dead worker's lease expires.

Retries are rows: a failed attempt sets `next_attempt_at` from `retry_schedule()` with jitter. A
failing connection is also blamed: state UNREACHABLE and paused for its `blamePeriod`.

The log does not grow forever: `deliveries_prune` deletes settled deliveries and their attempts
after ENDPOINTS_LOG_RETENTION_DAYS (a beat task, endpoints.tasks.delivery_log_retention_task).
"""
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q
from django.utils import timezone

from endpoints import templating
from endpoints.models import Attempt, Connection, Delivery, Endpoint
from endpoints.transport import TransportError, http_send, truncate

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt, in seconds (like Svix's webhook schedule): seconds,
# then minutes, then hours; 8 attempts over about 27 hours, then the delivery is `failed`.
DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
JITTER = 0.2
# A lease outlives the slowest request (timeout) by this margin.
LEASE_MARGIN = 30
# Connections have no timeout setting of their own (ThingPark's have none either).
CONNECTION_TIMEOUT = 10


def retry_schedule():
    """settings.ENDPOINTS_RETRY_SCHEDULE if set (a list of seconds), else the default."""
    return list(getattr(settings, "ENDPOINTS_RETRY_SCHEDULE", None) or DEFAULT_RETRY_SCHEDULE)


def retry_delay(failed_attempts):
    """Seconds to wait after that many failed attempts, with +-20% jitter so that targets that
    failed together do not retry together; None once the schedule is exhausted."""
    schedule = retry_schedule()
    if failed_attempts > len(schedule):
        return None
    base = schedule[failed_attempts - 1]
    return base * (1 + random.uniform(-JITTER, JITTER))


@dataclass
class DeliveryItem:
    """What a delivery needs to know of a message, in plain values (endpoints knows no devices)."""

    owner_id: int
    endpoint_pk: int | None
    connection_pks: tuple
    message_id: int
    device_id: str
    device_name: str
    payload: object
    ts: int


def deliveries_create(*, items):
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
        common = dict(owner_id=item.owner_id, message_id=item.message_id, device_id=item.device_id,
                      device_name=item.device_name, payload=item.payload, ts=item.ts, next_attempt_at=now)
        if (item.endpoint_pk, item.owner_id) in endpoints:
            rows.append(Delivery(endpoint_id=item.endpoint_pk, **common))
        rows.extend(Delivery(connection_id=pk, **common) for pk in item.connection_pks
                    if (pk, item.owner_id) in connections)
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(deliveries_wake)
    return len(rows)


def deliveries_wake():
    """Wakes the deliveries queue. A failure is harmless: the rows are committed and the beat
    redrive finds them."""
    from endpoints.tasks import dispatch_deliveries_task

    try:
        dispatch_deliveries_task.delay()
    except Exception:  # the broker being down must not fail the ingest batch
        logger.warning("could not wake the deliveries queue; the redrive will send them", exc_info=True)


def deliveries_due_targets(*, limit=1000):
    """The targets whose oldest pending delivery is due now and that nobody is sending, as
    [("endpoint"|"connection", pk), ...]."""
    now = timezone.now()
    heads = (Delivery.objects.filter(state=Delivery.PENDING).values("endpoint_id", "connection_id")
             .annotate(head=Min("id")).values("head"))
    due = (Delivery.objects.filter(pk__in=heads, next_attempt_at__lte=now)
           .filter(Q(endpoint__isnull=True) | Q(endpoint__enabled=True))
           .filter(Q(endpoint__isnull=True) | Q(endpoint__lease_until__isnull=True) | Q(endpoint__lease_until__lt=now))
           .filter(Q(connection__isnull=True) | Q(connection__active=True))
           .filter(Q(connection__isnull=True) | Q(connection__blamed_until__isnull=True)
                   | Q(connection__blamed_until__lte=now))
           .filter(Q(connection__isnull=True) | Q(connection__lease_until__isnull=True)
                   | Q(connection__lease_until__lt=now))
           .order_by("id").values_list("endpoint_id", "connection_id")[:limit])
    return [("endpoint", e) if e else ("connection", str(c)) for e, c in due]


def _target_model(kind):
    return {"endpoint": Endpoint, "connection": Connection}[kind]


def _lease_take(model, pk, seconds):
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    taken = model.objects.filter(pk=pk).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
        lease_until=until)
    return until if taken else None


def target_deliver(*, kind, pk, limit=100, budget_seconds=60):
    """Sends a target's due deliveries oldest first, one at a time, until one fails or none is
    due; returns how many attempts were made. After `limit` attempts or `budget_seconds` it queues
    itself again, so a busy target does not keep one worker forever. Does nothing if another worker
    holds the target. At least once: a worker dying after the receiver answered but before the
    result was recorded means that delivery is sent again, with the same X-Message-Id."""
    model = _target_model(kind)
    target = model.objects.filter(pk=pk).first()
    if target is None:
        return 0
    lease_seconds = (target.timeout if kind == "endpoint" else CONNECTION_TIMEOUT) + LEASE_MARGIN
    sent, more = 0, False
    started = time.monotonic()
    while True:
        lease = _lease_take(model, pk, lease_seconds)
        if lease is None:
            break
        idle = False
        try:
            while True:
                target = model.objects.select_related("owner").get(pk=pk)
                delivery = _head_due(kind, target)
                if delivery is None:
                    idle = True
                    break
                if sent >= limit or time.monotonic() - started > budget_seconds:
                    more = True
                    break
                ok = delivery_attempt(delivery=delivery, target=target)
                sent += 1
                lease = timezone.now() + timedelta(seconds=lease_seconds)
                model.objects.filter(pk=pk).update(lease_until=lease)
                if not ok:
                    break
        finally:
            model.objects.filter(pk=pk, lease_until=lease).update(lease_until=None)
        # A wake-up that came while we held the lease found the target taken and did nothing; a
        # delivery committed in that moment would wait for the redrive. Look once more, now free.
        target = model.objects.filter(pk=pk).first()
        if not idle or target is None or _head_due(kind, target) is None:
            break
    if more:
        from endpoints.tasks import deliver_target_task

        try:
            deliver_target_task.delay(kind, str(pk))
        except Exception:  # the beat redrive picks the target up again
            logger.warning("could not requeue %s %s", kind, pk, exc_info=True)
    return sent


def _head_due(kind, target):
    """The target's oldest pending delivery if it may be sent now, else None."""
    now = timezone.now()
    if kind == "endpoint" and not target.enabled:
        return None
    if kind == "connection" and (not target.active or (target.blamed_until and target.blamed_until > now)):
        return None
    head = Delivery.objects.filter(**{kind: target}, state=Delivery.PENDING).order_by("id").first()
    if head is None or (head.next_attempt_at and head.next_attempt_at > now):
        return None
    return head


def message_id_header(delivery):
    """The same value on every retry of a delivery, so receivers can de-duplicate."""
    return str(delivery.message_id) if delivery.message_id is not None else f"call-{delivery.pk}"


def endpoint_request(*, endpoint, delivery):
    """(method, url, headers, body) for an endpoint, templates filled. TemplateError if unsafe."""
    context = {"payload": delivery.payload, "device": delivery.device_id, "device_name": delivery.device_name,
               "user": endpoint.owner.get_username(), "ts": delivery.ts}
    url = templating.render_url(endpoint.url, context)
    headers = {"Content-Type": "application/json", **templating.render_headers(endpoint.headers, context)}
    if endpoint.method == "GET":
        body = None
    elif endpoint.body:
        body = templating.render_body(endpoint.body, context)
    else:
        body = json.dumps(delivery.payload)
    headers["X-Message-Id"] = message_id_header(delivery)
    return endpoint.method, url, headers, body


def connection_downlink_url(connection):
    return f"{settings.SITE_URL}/iot-flow/downlinkMessages/{connection.downlink_secret}"


def connection_request(*, connection, delivery):
    """(method, url, headers, body) for a connection: the DevEUI_uplink body (or the raw device
    JSON with sendRawDecodedFormat) and the configured headers with ThingPark placeholders."""
    customer = connection.owner.get_username()
    if connection.send_raw_decoded_format:
        body = delivery.payload
    else:
        body = {"DevEUI_uplink": {"Time": templating.iso_time(delivery.ts), "DevEUI": delivery.device_id,
                                  "CustomerID": customer, "payload": delivery.payload,
                                  "downlinkUrl": connection_downlink_url(connection)}}
    headers = {"Content-Type": "application/json", **templating.render_thingpark_headers(
        connection.headers, device=delivery.device_id, device_name=delivery.device_name, customer=customer,
        ts=delivery.ts, payload=delivery.payload)}
    headers["X-Message-Id"] = message_id_header(delivery)
    return "POST", connection.destination_url, headers, json.dumps(body)


def delivery_attempt(*, delivery, target):
    """Sends a delivery once and records the Attempt; updates the delivery (delivered, retry
    later, or failed for good) and, for a connection, its state and blame. Returns success."""
    url, status, ms, answer, error, permanent = "", None, 0, "", "", False
    try:
        if delivery.endpoint_id:
            method, url, headers, body = endpoint_request(endpoint=target, delivery=delivery)
            timeout = target.timeout
        else:
            method, url, headers, body = connection_request(connection=target, delivery=delivery)
            timeout = CONNECTION_TIMEOUT
        response = http_send(method=method, url=url, headers=headers, body=body, timeout=timeout)
        status, ms, answer = response.status, response.ms, response.body
        ok = response.ok
        if not ok:
            error = f"HTTP {status}: only a 2xx answer counts as delivered."
    except templating.TemplateError as exc:
        ok, error, permanent = False, str(exc), True
    except TransportError as exc:
        ok, error, permanent = False, str(exc), exc.permanent
    now = timezone.now()
    with transaction.atomic():
        Attempt.objects.create(delivery=delivery, url=truncate(url, 2000), status_code=status, ms=ms,
                               response_body=truncate(answer), error=error)
        _delivery_settle(delivery, ok=ok, status=status, error=error, permanent=permanent, now=now)
        if delivery.connection_id:
            _connection_settle(target, ok=ok, now=now)
    return ok


def _delivery_settle(delivery, *, ok, status, error, permanent, now):
    delivery.attempts += 1
    delivery.last_status = status
    delivery.last_error = error
    if ok:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = Delivery.DELIVERED, now, None
    else:
        delay = None if permanent else retry_delay(delivery.attempts)
        if delay is None:
            delivery.state, delivery.next_attempt_at = Delivery.FAILED, None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delay)
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts, last_status=status, last_error=error, state=delivery.state,
        delivered_at=delivery.delivered_at, next_attempt_at=delivery.next_attempt_at)


def _connection_settle(connection, *, ok, now):
    """OPENED on success; UNREACHABLE and blamed for blamePeriod on failure. A deactivated
    connection keeps its state (conditional update)."""
    live = Connection.objects.filter(pk=connection.pk).exclude(state=Connection.DEACTIVATED)
    if ok:
        live.update(state=Connection.OPENED, blamed_until=None)
    else:
        live.update(state=Connection.UNREACHABLE, blamed_until=now + timedelta(seconds=connection.blame_period))


def delivery_retry(*, delivery):
    """Puts a failed delivery back in the queue with a fresh retry schedule; it goes before newer
    pending deliveries of its target (order by id). Returns False unless it was failed."""
    requeued = Delivery.objects.filter(pk=delivery.pk, state=Delivery.FAILED).update(
        state=Delivery.PENDING, attempts=0, next_attempt_at=timezone.now())
    if requeued:
        transaction.on_commit(deliveries_wake)
    return bool(requeued)


def endpoint_call(*, endpoint, payload, now_ms):
    """Sends one request to an endpoint now, with `payload` as the message, and logs it as a
    delivery without retries. Returns the HttpAnswer; raises TransportError or TemplateError."""
    # Created `failed` and settled below: never a pending row the queue could pick up meanwhile.
    delivery = Delivery.objects.create(owner_id=endpoint.owner_id, endpoint=endpoint, payload=payload, ts=now_ms,
                                       state=Delivery.FAILED, next_attempt_at=None)
    url, status, ms, answer, error = "", None, 0, "", ""
    try:
        method, url, headers, body = endpoint_request(endpoint=endpoint, delivery=delivery)
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


def deliveries_prune(*, older_than_days, now=None, batch_size=1000, deadline_s=50.0):
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
