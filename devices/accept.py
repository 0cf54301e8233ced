"""The callback's writes, the hot path: accept a device message (inbox row, counters,
connection state) and pick its answer (a queued downlink, exactly once, or the response
property), then wake the ingest worker. With backends.CALLBACK_SQL (PostgreSQL) this is plain SQL
in as few round trips as possible; otherwise the ORM. Either way answer_pick decides the answer.
See docs/performance.md, "Per callback in process", for what each step costs."""
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from devices import cache as callback_cache
from devices.cache import CallbackDevice
from devices.models import Device, DeviceProperty, Downlink, Message, StatusChange
from platform import backends
from platform.clock import now_ms
from platform.database import db_connection
from platform.database.prepared import row_prepared

logger = logging.getLogger(__name__)
# The callback hands over the cached fields (devices/cache.py); other callers may pass the model.
AnyDevice = Device | CallbackDevice


@dataclass
class CallbackAnswer:
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


# The device has no response property, or it does not hold that property (a property may hold null).
NO_PROPERTY: Any = object()


def answer_pick(*, downlink: tuple[int, Any] | None, pending: int = 0, prop: Any = NO_PROPERTY) -> CallbackAnswer:
    """What a callback answers, from what its path read: the claimed downlink (pk, payload), with
    how many are still queued after it; else the response property's value; else {}. The one
    place this is decided, for the SQL and the ORM paths alike."""
    if downlink is not None:
        pk, payload = downlink
        return CallbackAnswer(payload, {"X-Downlink-Id": str(pk), "X-Downlinks-Pending": str(pending)})
    if prop is not NO_PROPERTY:
        return CallbackAnswer(prop)
    return CallbackAnswer()


def _answer_bytes(answer: CallbackAnswer) -> int:
    """The answer's size as the device's tx_bytes counts it (compact JSON)."""
    return len(json.dumps(answer.body, separators=(",", ":")))


WAKE_PAUSE_SECONDS = 5.0
_wake_paused_until = 0.0
# At most one wake-up in flight: a callback publishes only if it sets this flag; the ingest worker
# clears it before each claim (ingest_wake_clear), so a message committed while the flag is set is
# seen by that claim. The TTL only bounds the damage of a flag nobody clears.
WAKE_FLAG = "devices:ingest:wake"
WAKE_FLAG_SECONDS = 10


def _wake_flag_shared() -> bool:
    """The flag needs a cache every web and worker process shares (Redis); a per-process cache
    (locmem) would never see the worker clear it, so there every callback publishes."""
    return settings.INGEST_WAKE_DEBOUNCE and settings.CACHE_SHARED


def ingest_wake() -> None:
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
        except Exception:  # noqa: BLE001  any cache backend failure: the wake-up is still sent
            callback_cache.failed("wake-up flag; publishing every wake-up")
    try:
        process_messages_task.delay()
    except Exception:  # the broker being down must never fail a committed callback
        _wake_paused_until = time.monotonic() + WAKE_PAUSE_SECONDS
        if flagged and callback_cache.available():
            ingest_wake_clear()
        logger.warning("could not wake the ingest worker; the redrive will pick the message up", exc_info=True)


def ingest_wake_clear() -> None:
    """Called by the ingest worker before each claim: the next committed message publishes a new
    wake-up. Anything committed before this call is visible to the claim that follows it."""
    try:
        cache.delete(WAKE_FLAG)
    except Exception:  # the flag then expires by itself after WAKE_FLAG_SECONDS
        logger.warning("could not clear the wake-up flag", exc_info=True)


def message_accept(*, device: AnyDevice, payload: Any, size: int, ip_address: str | None = None) -> CallbackAnswer:
    """Commits one device message to the inbox, updates the device's counters and connection
    state, and picks the answer (a downlink is consumed). Atomic, and committed when it returns
    (unless called inside the caller's transaction): a 200 to the device must mean all of this is
    committed. The ingest worker is woken after commit.

    With backends.CALLBACK_SQL, a device without a response property usually answers {}: one
    autocommit statement does it all unless a downlink is queued (_ACCEPT_FAST_SQL). Otherwise, or
    then, two statements in a transaction (_message_accept_sql). Without it, the ORM."""
    if not backends.CALLBACK_SQL:
        with transaction.atomic():
            return _message_accept_orm(device=device, payload=payload, size=size, ip_address=ip_address)
    if not device.send_property and not connection.in_atomic_block:
        answer = _message_accept_fast(device=device, payload=payload, size=size, ip_address=ip_address)
        if answer is not None:
            ingest_wake()  # committed already
            return answer
    with transaction.atomic():
        answer = _message_accept_sql(device=device, payload=payload, size=size, ip_address=ip_address)
        transaction.on_commit(ingest_wake)
    return answer


def _message_accept_orm(*, device: AnyDevice, payload: Any, size: int, ip_address: str | None) -> CallbackAnswer:
    now = timezone.now()
    Message.objects.create(device_id=device.pk, payload=payload, size=size, ts=now_ms(), ip_address=ip_address)
    answer = callback_answer(device=device, consume=True)
    updates = {"last_seen": now, "disconnect_at": now + timedelta(minutes=device.timeout), "ip_address": ip_address,
               "rx_bytes": F("rx_bytes") + size, "tx_bytes": F("tx_bytes") + _answer_bytes(answer),
               "rx_messages": F("rx_messages") + 1}
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


# The common case in one autocommit statement (atomic by itself): the answer is the one without
# downlink or property ({}), unless a downlink is queued, in which case the statement changes
# nothing and says so.
_PLAIN_ANSWER_BYTES = _answer_bytes(answer_pick(downlink=None))  # once, not per callback
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
        rx_bytes = d.rx_bytes + %(size)s, tx_bytes = d.tx_bytes + %(tx)s, rx_messages = d.rx_messages + 1,
        connected = true, connected_ts = CASE WHEN old.connected THEN d.connected_ts ELSE %(now)s END
    FROM old WHERE d.id = old.id
    RETURNING old.connected AS was_connected
), flip AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT %(device)s, true, %(now)s FROM dev WHERE NOT dev.was_connected
)
SELECT pending FROM queued"""


def _message_accept_fast(*, device: AnyDevice, payload: Any, size: int,
                         ip_address: str | None) -> CallbackAnswer | None:
    """The answer ({}) if done, None if a downlink is queued (nothing was written)."""
    now = timezone.now()
    params: dict[str, Any] = {
        "now": now, "device": device.pk, "payload": _PAYLOAD_FIELD.get_db_prep_save(payload, db_connection()),
        "size": size, "ts": now_ms(), "ip": ip_address, "disconnect_at": now + timedelta(minutes=device.timeout),
        "tx": _PLAIN_ANSWER_BYTES}
    (queued,) = row_prepared(_ACCEPT_FAST_SQL, params)
    return None if queued else answer_pick(downlink=None)


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _message_accept_sql(*, device: AnyDevice, payload: Any, size: int, ip_address: str | None) -> CallbackAnswer:
    now = timezone.now()
    params: dict[str, Any] = {"now": now, "device": device.pk, "prop": device.send_property}
    with connection.cursor() as cursor:
        cursor.execute(_ANSWER_SQLS[bool(device.send_property)], params)
        downlink_pk, downlink_payload, prop_value = cursor.fetchone()
        downlink, pending = None, 0
        if downlink_pk is not None:
            downlink = (downlink_pk, _json_value(downlink_payload))
            # The claimed one is marked delivered already: this counts the ones after it.
            pending = Downlink.objects.filter(device_id=device.pk, delivered_at__isnull=True).count()
        # [value] or NULL: a property may hold null.
        prop = NO_PROPERTY if prop_value is None else _json_value(prop_value)[0]
        answer = answer_pick(downlink=downlink, pending=pending, prop=prop)
        params.update(payload=_PAYLOAD_FIELD.get_db_prep_save(payload, connection), size=size, ts=now_ms(),
                      ip=ip_address, disconnect_at=now + timedelta(minutes=device.timeout), tx=_answer_bytes(answer))
        cursor.execute(_ACCEPT_SQL, params)
    return answer


_PAYLOAD_FIELD = Message._meta.get_field("payload")


def callback_answer(*, device: AnyDevice, consume: bool) -> CallbackAnswer:
    """The oldest queued downlink (consumed, exactly once, when `consume`), else the response
    property's value, else {} (answer_pick). Exactly once: the downlink row is claimed with SKIP
    LOCKED and marked with a conditional update, so two racing callbacks never get the same one."""
    queued = Downlink.objects.filter(device_id=device.pk, delivered_at__isnull=True).order_by("id")
    with transaction.atomic():
        downlink = (queued.select_for_update(skip_locked=True) if consume else queued).first()
        if downlink is not None and consume and not Downlink.objects.filter(
                pk=downlink.pk, delivered_at__isnull=True).update(delivered_at=timezone.now()):
            downlink = None
    if downlink is not None:
        return answer_pick(downlink=(downlink.pk, downlink.payload), pending=queued.exclude(pk=downlink.pk).count())
    prop = NO_PROPERTY
    if device.send_property:
        found = DeviceProperty.objects.filter(device_id=device.pk, name=device.send_property).first()
        if found is not None:
            prop = found.value
    return answer_pick(downlink=None, prop=prop)
