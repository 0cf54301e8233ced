"""Writes on devices. Services take keyword arguments and never see a request."""
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from devices import cache as callback_cache
from devices.models import Device, DeviceProperty, Downlink, Message, StatusChange
from platform.payloads import now_ms
from platform.tokens import token_hash, token_new

logger = logging.getLogger(__name__)


@dataclass
class CallbackAnswer:
    body: object = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def device_create(*, owner, device_id, name="", description="", enabled=True, applications=(), **settings):
    """Creates a device; returns (device, callback token). The token is shown only now (only its
    hash is stored). Raises ValidationError for a bad or duplicate id. Atomic: a device that
    exists has its applications."""
    if Device.objects.filter(owner=owner, device_id=device_id).exists():
        raise ValidationError({"device": f"{owner.get_username()} already has a device '{device_id}'."})
    token = token_new()
    device = Device(owner=owner, device_id=device_id, name=name or device_id, description=description,
                    enabled=enabled, token_hash=token_hash(token), **settings)
    device.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            device.save()
            if applications:
                device.applications.set(applications)
    except IntegrityError:  # a concurrent create of the same id won the race
        raise ValidationError({"device": f"{owner.get_username()} already has a device '{device_id}'."}) from None
    return device, token


def device_update(*, device, applications=None, **fields):
    """Updates the given fields (name, description, enabled) and, if given, replaces the
    device's applications. Atomic."""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(device, name, value)
        device.full_clean(validate_constraints=False)
        device.save()
        if applications is not None:
            device.applications.set(applications)
    return device


def device_delete(*, device):
    """Deletes the device with its properties, inbox, downlinks and history; records already in
    buckets stay (they belong to the bucket)."""
    device.delete()


def device_token_regenerate(*, device):
    """A new callback token; the old one stops working at once."""
    token = token_new()
    Device.objects.filter(pk=device.pk).update(token_hash=token_hash(token), modified=timezone.now())
    device.token_hash = token_hash(token)
    callback_cache.invalidate(device.owner.get_username(), device.device_id)
    return token


def callback_settings_set(*, device, write_bucket=None, call_endpoint=None, set_property="", send_property="",
                          timeout=10):
    """Sets the callback actions and the connection timeout (minutes), all at once: what is not
    given is off. The buckets and endpoints must be the owner's (the caller checks). A connected
    device's disconnect deadline follows the new timeout."""
    device.write_bucket = write_bucket
    device.call_endpoint = call_endpoint
    device.set_property = set_property or ""
    device.send_property = send_property or ""
    device.timeout = timeout
    if device.last_seen:
        device.disconnect_at = device.last_seen + timedelta(minutes=timeout)
    device.full_clean(validate_constraints=False)
    device.save()
    return device


WAKE_PAUSE_SECONDS = 5.0
_wake_paused_until = 0.0
# At most one wake-up in flight: a callback publishes only if it sets this flag; the ingest worker
# clears it before each claim (ingest_wake_clear), so a message committed while the flag is set is
# seen by that claim. The TTL only bounds the damage of a flag nobody clears.
WAKE_FLAG = "devices:ingest:wake"
WAKE_FLAG_SECONDS = 10


def _wake_flag_shared():
    """The flag needs a cache every web and worker process shares (Redis); a per-process cache
    (locmem) would never see the worker clear it, so there every callback publishes."""
    return settings.INGEST_WAKE_DEBOUNCE and "redis" in settings.CACHES["default"]["BACKEND"].lower()


def ingest_wake():
    """Wakes the ingest worker unless a wake-up is already in flight. A failure here is harmless:
    the message is committed and the beat redrive finds it. After a failure this process stops
    trying for WAKE_PAUSE_SECONDS, so a broker that is down or hung costs one callback a timeout,
    not every callback; a cache that fails is skipped the same way (every callback publishes)."""
    global _wake_paused_until
    from devices.tasks import process_messages_task

    now = time.monotonic()
    if now < _wake_paused_until:
        return
    flagged = False
    if callback_cache.available() and _wake_flag_shared():
        try:
            if not cache.add(WAKE_FLAG, 1, timeout=WAKE_FLAG_SECONDS):
                return  # in flight: its worker clears the flag before claiming, then sees this message
            flagged = True
        except Exception:
            callback_cache.failed("wake-up flag; publishing every wake-up")
    try:
        process_messages_task.delay()
    except Exception:  # the broker being down must never fail a committed callback
        _wake_paused_until = time.monotonic() + WAKE_PAUSE_SECONDS
        if flagged and callback_cache.available():
            ingest_wake_clear()
        logger.warning("could not wake the ingest worker; the redrive will pick the message up", exc_info=True)


def ingest_wake_clear():
    """Called by the ingest worker before each claim: the next committed message publishes a new
    wake-up. Anything committed before this call is visible to the claim that follows it."""
    try:
        cache.delete(WAKE_FLAG)
    except Exception:  # the flag then expires by itself after WAKE_FLAG_SECONDS
        logger.warning("could not clear the wake-up flag", exc_info=True)


def message_accept(*, device, payload, size, ip_address=None):
    """Commits one device message to the inbox, updates the device's counters and connection
    state, and picks the answer (a downlink is consumed). Atomic, and committed when it returns
    (unless called inside the caller's transaction): a 200 to the device must mean all of this is
    committed. The ingest worker is woken after commit.

    On PostgreSQL, a device without a response property usually answers {}: one autocommit
    statement does it all unless a downlink is queued (_ACCEPT_FAST_SQL). Otherwise, or then, two
    statements in a transaction (_message_accept_pg); elsewhere the ORM below."""
    if connection.vendor == "postgresql":
        if not device.send_property and not connection.in_atomic_block:
            answer = _message_accept_fast(device=device, payload=payload, size=size, ip_address=ip_address)
            if answer is not None:
                ingest_wake()  # committed already
                return answer
        with transaction.atomic():
            answer = _message_accept_pg(device=device, payload=payload, size=size, ip_address=ip_address)
            transaction.on_commit(ingest_wake)
        return answer
    with transaction.atomic():
        return _message_accept_orm(device=device, payload=payload, size=size, ip_address=ip_address)


def _message_accept_orm(*, device, payload, size, ip_address):
    now = timezone.now()
    Message.objects.create(device_id=device.pk, payload=payload, size=size, ts=now_ms(), ip_address=ip_address)
    answer = callback_answer(device=device, consume=True)
    tx_bytes = len(json.dumps(answer.body, separators=(",", ":")))
    updates = dict(last_seen=now, disconnect_at=now + timedelta(minutes=device.timeout), ip_address=ip_address,
                   rx_bytes=F("rx_bytes") + size, tx_bytes=F("tx_bytes") + tx_bytes,
                   rx_messages=F("rx_messages") + 1)
    # Conditional updates: exactly one of several racing callbacks records the flip.
    if not Device.objects.filter(pk=device.pk, connected=True).update(**updates):
        if Device.objects.filter(pk=device.pk, connected=False).update(connected=True, connected_ts=now, **updates):
            StatusChange.objects.create(device_id=device.pk, connected=True)
        else:
            Device.objects.filter(pk=device.pk).update(**updates)
    transaction.on_commit(ingest_wake)
    return answer


# The answer in one statement: claim the oldest queued downlink (SKIP LOCKED, then marked
# delivered in the same statement, so two racing callbacks never get the same one) and, for the
# fallback, read the response property (as [value]: NULL means no such property).
_ANSWER_SQL = """
WITH dl AS (
    UPDATE devices_downlink SET delivered_at = %(now)s
    WHERE delivered_at IS NULL AND id = (
        SELECT id FROM devices_downlink WHERE device_id = %(device)s AND delivered_at IS NULL
        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING id, payload)
SELECT dl.id, dl.payload, {prop} FROM (VALUES (1)) one LEFT JOIN dl ON true"""
_ANSWER_PROP = "(SELECT jsonb_build_array(value) FROM devices_deviceproperty WHERE device_id = %(device)s AND name = %(prop)s)"
_ANSWER_SQLS = {True: _ANSWER_SQL.format(prop=_ANSWER_PROP), False: _ANSWER_SQL.format(prop="NULL")}
# The inbox row, the counters and the connection flip in one statement. `old` locks the device row
# and reads `connected` as it is once locked, so of several racing callbacks exactly one sees it
# false and records the flip.
_ACCEPT_SQL = """
WITH msg AS (
    INSERT INTO devices_message (device_id, payload, size, ts, ip_address)
    VALUES (%(device)s, %(payload)s, %(size)s, %(ts)s, %(ip)s) RETURNING id
), old AS (
    SELECT id, connected FROM devices_device WHERE id = %(device)s FOR UPDATE
), dev AS (
    UPDATE devices_device d SET last_seen = %(now)s, disconnect_at = %(disconnect_at)s, ip_address = %(ip)s,
        rx_bytes = d.rx_bytes + %(size)s, tx_bytes = d.tx_bytes + %(tx)s, rx_messages = d.rx_messages + 1,
        connected = true, connected_ts = CASE WHEN old.connected THEN d.connected_ts ELSE %(now)s END
    FROM old WHERE d.id = old.id
    RETURNING old.connected AS was_connected
), flip AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT %(device)s, true, %(now)s FROM dev WHERE NOT dev.was_connected
)
SELECT (SELECT id FROM msg)"""


# The common case in one autocommit statement (atomic by itself): the answer is {} (two bytes),
# unless a downlink is queued, in which case the statement changes nothing and says so.
_ACCEPT_FAST_SQL = """
WITH queued AS (
    SELECT EXISTS (SELECT 1 FROM devices_downlink WHERE device_id = %(device)s AND delivered_at IS NULL) AS pending
), msg AS (
    INSERT INTO devices_message (device_id, payload, size, ts, ip_address)
    SELECT %(device)s, %(payload)s::jsonb, %(size)s, %(ts)s, %(ip)s::inet FROM queued WHERE NOT queued.pending
    RETURNING id
), old AS (
    SELECT d.id, d.connected FROM devices_device d, queued WHERE d.id = %(device)s AND NOT queued.pending
    FOR UPDATE OF d
), dev AS (
    UPDATE devices_device d SET last_seen = %(now)s, disconnect_at = %(disconnect_at)s, ip_address = %(ip)s::inet,
        rx_bytes = d.rx_bytes + %(size)s, tx_bytes = d.tx_bytes + 2, rx_messages = d.rx_messages + 1,
        connected = true, connected_ts = CASE WHEN old.connected THEN d.connected_ts ELSE %(now)s END
    FROM old WHERE d.id = old.id
    RETURNING old.connected AS was_connected
), flip AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT %(device)s, true, %(now)s FROM dev WHERE NOT dev.was_connected
)
SELECT pending FROM queued"""


def _message_accept_fast(*, device, payload, size, ip_address):
    """The answer ({}) if done, None if a downlink is queued (nothing was written)."""
    now = timezone.now()
    params = {"now": now, "device": device.pk, "payload": _PAYLOAD_FIELD.get_db_prep_save(payload, connection),
              "size": size, "ts": now_ms(), "ip": ip_address, "disconnect_at": now + timedelta(minutes=device.timeout)}
    with connection.cursor() as cursor:
        cursor.execute(_ACCEPT_FAST_SQL, params)
        queued = cursor.fetchone()[0]
    return None if queued else CallbackAnswer()


def _json_value(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _message_accept_pg(*, device, payload, size, ip_address):
    now = timezone.now()
    params = {"now": now, "device": device.pk, "prop": device.send_property}
    with connection.cursor() as cursor:
        cursor.execute(_ANSWER_SQLS[bool(device.send_property)], params)
        downlink_pk, downlink_payload, prop_value = cursor.fetchone()
        if downlink_pk is not None:
            body = _json_value(downlink_payload)
            pending = Downlink.objects.filter(device_id=device.pk, delivered_at__isnull=True).count()
            answer = CallbackAnswer(body, {"X-Downlink-Id": str(downlink_pk), "X-Downlinks-Pending": str(pending)})
        elif prop_value is not None:  # [value]: a property may hold null
            answer = CallbackAnswer(_json_value(prop_value)[0])
        else:
            answer = CallbackAnswer()
        params.update(payload=_PAYLOAD_FIELD.get_db_prep_save(payload, connection), size=size, ts=now_ms(),
                      ip=ip_address, disconnect_at=now + timedelta(minutes=device.timeout),
                      tx=len(json.dumps(answer.body, separators=(",", ":"))))
        cursor.execute(_ACCEPT_SQL, params)
    return answer


_PAYLOAD_FIELD = Message._meta.get_field("payload")


def callback_answer(*, device, consume):
    """The oldest queued downlink (consumed, exactly once, when `consume`), else the response
    property's value, else {}. Exactly once: the downlink row is claimed with SKIP LOCKED and
    marked with a conditional update, so two racing callbacks never get the same one."""
    queued = Downlink.objects.filter(device_id=device.pk, delivered_at__isnull=True).order_by("id")
    with transaction.atomic():
        downlink = (queued.select_for_update(skip_locked=True) if consume else queued).first()
        if downlink is not None and consume:
            if not Downlink.objects.filter(pk=downlink.pk, delivered_at__isnull=True).update(
                    delivered_at=timezone.now()):
                downlink = None
    if downlink is not None:
        pending = queued.exclude(pk=downlink.pk).count()
        return CallbackAnswer(downlink.payload, {"X-Downlink-Id": str(downlink.pk),
                                                 "X-Downlinks-Pending": str(pending)})
    if device.send_property:
        prop = DeviceProperty.objects.filter(device_id=device.pk, name=device.send_property).first()
        if prop is not None:
            return CallbackAnswer(prop.value)
    return CallbackAnswer()


def downlink_queue(*, device, payload, source="api"):
    """Queues a downlink; the device's next callback answers with it (oldest first)."""
    return Downlink.objects.create(device_id=device.pk, payload=payload, source=source)


def property_set(*, device_id, name, value):
    """Sets a device property, creating it if needed; returns (property, created)."""
    return DeviceProperty.objects.update_or_create(device_id=device_id, name=name,
                                                   defaults={"value": value, "message_id": None})


def property_create(*, device, name, value):
    """Creates a property; ValidationError if the device already has one of that name."""
    prop = DeviceProperty(device=device, name=name, value=value)
    prop.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            prop.save()
    except IntegrityError:
        raise ValidationError({"property": f"Device '{device.device_id}' already has a property '{name}': "
                                           "PUT to .../properties/{name} to change it."}) from None
    return prop


def property_delete(*, prop):
    prop.delete()


def properties_store(*, rows):
    """Stores `set_property` payloads: rows of (device pk, property name, message id, value), at
    most one per property. One INSERT ... ON CONFLICT for all of them; a property only takes a
    value from a newer message than the one it holds, so batches finishing out of order (several
    ingest workers) and a batch processed twice leave the newest payload."""
    if not rows:
        return
    table = DeviceProperty._meta.db_table
    value_field = DeviceProperty._meta.get_field("value")
    now = DeviceProperty._meta.get_field("modified").get_db_prep_value(timezone.now(), connection)
    params = []
    for device_pk, name, message_id, value in rows:
        params += [device_pk, name, value_field.get_db_prep_save(value, connection), now, now, message_id]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (device_id, name, value, created, modified, message_id) VALUES {placeholders} "
            f"ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified, "
            f"message_id = excluded.message_id "
            f"WHERE {table}.message_id IS NULL OR {table}.message_id < excluded.message_id", params)


def devices_sweep_timeouts(*, batch_size=None):
    """Marks disconnected every connected device whose timeout has passed, recording each flip.
    Rows are claimed with SKIP LOCKED and flipped with a conditional update, so several sweepers
    may run at once and no flip is recorded twice. Returns how many devices were flipped.
    On PostgreSQL each chunk is one statement (claim, flip, record); elsewhere the ORM."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _sweep_pg(now, batch_size or 20_000)
    batch_size = batch_size or 1000
    flipped = 0
    while True:
        with transaction.atomic():
            ids = list(Device.objects.select_for_update(skip_locked=True)
                       .filter(connected=True, disconnect_at__lte=now)
                       .values_list("pk", flat=True)[:batch_size])
            if not ids:
                return flipped
            Device.objects.filter(pk__in=ids, connected=True).update(connected=False, connected_ts=now)
            StatusChange.objects.bulk_create([StatusChange(device_id=pk, connected=False) for pk in ids])
            flipped += len(ids)


# One chunk of the sweep, atomic on its own: due rows are locked (SKIP LOCKED: a callback holding
# one wins, and moves its deadline), flipped if still connected, and each flip recorded.
_SWEEP_SQL = """
WITH due AS (
    SELECT id FROM devices_device WHERE connected AND disconnect_at <= %(now)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), flipped AS (
    UPDATE devices_device d SET connected = false, connected_ts = %(now)s
    FROM due WHERE d.id = due.id AND d.connected
    RETURNING d.id
), recorded AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT id, false, %(now)s FROM flipped
    RETURNING 1
)
SELECT count(*) FROM recorded"""


def _sweep_pg(now, limit):
    flipped = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_SWEEP_SQL, {"now": now, "limit": limit})
            count = cursor.fetchone()[0]
        flipped += count
        if count < limit:
            return flipped
