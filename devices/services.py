"""Writes on devices. Services take keyword arguments and never see a request."""
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from buckets.models import Bucket
from devices import cache as callback_cache
from devices.models import Device, DeviceProperty, Downlink, StatusChange
from devices.signals import StatusChanged, status_changed_send
from endpoints.models import Connection, Endpoint
from platform import backends
from platform.database import db_connection
from platform.tokens import token_hash, token_new

logger = logging.getLogger(__name__)


def device_create(*, owner: User, device_id: str, name: str = "", description: str = "",
                  enabled: bool = True, applications: Iterable[Connection | int] = (),
                  **settings: Any) -> tuple[Device, str]:
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


def device_update(*, device: Device, applications: Iterable[Connection | int] | None = None,
                  **fields: Any) -> Device:
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


def device_delete(*, device: Device) -> None:
    """Deletes the device with its properties, inbox, downlinks and history; records already in
    buckets stay (they belong to the bucket)."""
    device.delete()


def device_token_regenerate(*, device: Device) -> str:
    """A new callback token; the old one stops working at once."""
    token = token_new()
    Device.objects.filter(pk=device.pk).update(token_hash=token_hash(token), modified=timezone.now())
    device.token_hash = token_hash(token)
    callback_cache.invalidate(device.owner.get_username(), device.device_id)
    return token


def callback_settings_set(*, device: Device, write_bucket: Bucket | None = None,
                          call_endpoint: Endpoint | None = None, set_property: str = "", send_property: str = "",
                          timeout: int = 10) -> Device:
    """Sets the callback actions and the connection timeout (minutes), all at once: what is not
    given is off. The buckets and endpoints must be the owner's (the caller checks). A connected
    device's disconnect deadline follows the new timeout."""
    device.write_bucket = write_bucket
    device.call_endpoint = call_endpoint
    device.set_property = set_property or ""
    device.send_property = send_property or ""
    device.timeout = timeout
    device.disconnect_at_follow()
    device.full_clean(validate_constraints=False)
    device.save()
    return device


def downlink_queue(*, device: Device, payload: Any, source: str = "api") -> Downlink:
    """Queues a downlink; the device's next callback answers with it (oldest first)."""
    return Downlink.objects.create(device_id=device.pk, payload=payload, source=source)


def property_set(*, device_id: int, name: str, value: Any) -> tuple[DeviceProperty, bool]:
    """Sets a device property, creating it if needed; returns (property, created)."""
    return DeviceProperty.objects.update_or_create(device_id=device_id, name=name,
                                                   defaults={"value": value, "message_id": None})


def property_create(*, device: Device, name: str, value: Any) -> DeviceProperty:
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


def property_delete(*, prop: DeviceProperty) -> None:
    prop.delete()


def properties_store(*, rows: Sequence[tuple[int, str, int, Any]]) -> None:
    """Stores `set_property` payloads: rows of (device pk, property name, message id, value), at
    most one per property. One INSERT ... ON CONFLICT for all of them; a property only takes a
    value from a newer message than the one it holds, so batches finishing out of order (several
    ingest workers) and a batch processed twice leave the newest payload."""
    if not rows:
        return
    table = DeviceProperty._meta.db_table
    value_field = DeviceProperty._meta.get_field("value")
    db = db_connection()  # once, not through the proxy for every row
    now = DeviceProperty._meta.get_field("modified").get_db_prep_value(timezone.now(), db)
    params: list[Any] = []
    for device_pk, name, message_id, value in rows:
        params += [device_pk, name, value_field.get_db_prep_save(value, db), now, now, message_id]
    placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (device_id, name, value, created, modified, message_id) VALUES {placeholders} "
            f"ON CONFLICT (device_id, name) DO UPDATE SET value = excluded.value, modified = excluded.modified, "
            f"message_id = excluded.message_id "
            f"WHERE {table}.message_id IS NULL OR {table}.message_id < excluded.message_id", params)


def devices_sweep_timeouts(*, batch_size: int | None = None) -> int:
    """Marks disconnected every connected device whose timeout has passed, recording each flip.
    Rows are claimed with SKIP LOCKED and flipped with a conditional update, so several sweepers
    may run at once and no flip is recorded twice. Returns how many devices were flipped.
    With backends.SWEEP_SQL (PostgreSQL) each chunk is one statement (claim, flip, record);
    otherwise the ORM."""
    now = timezone.now()
    if backends.SWEEP_SQL:
        return _sweep_sql(now, batch_size or 20_000)
    batch_size = batch_size or 1000
    flipped = 0
    while True:
        with transaction.atomic():
            due = list(Device.objects.select_for_update(skip_locked=True)
                       .filter(connected=True, disconnect_at__lte=now)
                       .values_list("pk", "owner_id")[:batch_size])
            if not due:
                return flipped
            ids = [pk for pk, _ in due]
            Device.objects.filter(pk__in=ids, connected=True).update(connected=False, connected_ts=now)
            StatusChange.objects.bulk_create([StatusChange(device_id=pk, connected=False) for pk in ids])
            flipped += len(ids)
        _announce_disconnected(due, now)


# One chunk of the sweep, atomic on its own: due rows are locked (SKIP LOCKED: a callback holding
# one wins, and moves its deadline), flipped if still connected, and each flip recorded. Due rows
# are found by a sequential scan: no index covers the connection state, so that the flip (and the
# callback's update) is HOT (devices/migrations/0003). The flip looks the locked ids up by primary
# key, and the INSERT runs to completion without being read (PostgreSQL runs every data-modifying
# WITH part once): a hash join over the whole table and a join with the INSERT's output cost more.
_SWEEP_SQL = """
WITH due AS (
    SELECT id FROM devices_device WHERE connected AND disconnect_at <= %(now)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), flipped AS (
    UPDATE devices_device d SET connected = false, connected_ts = %(now)s
    WHERE d.id = ANY(ARRAY(SELECT id FROM due)) AND d.connected
    RETURNING d.id, d.owner_id
), recorded AS (
    INSERT INTO devices_statuschange (device_id, connected, at)
    SELECT id, false, %(now)s FROM flipped
)
SELECT id, owner_id FROM flipped"""


def _sweep_sql(now: datetime, limit: int) -> int:
    flipped = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_SWEEP_SQL, {"now": now, "limit": limit})
            due = cursor.fetchall()
            count = len(due)
        _announce_disconnected(due, now)
        flipped += count
        if count < limit:
            return flipped


def _announce_disconnected(due: Sequence[tuple[int, int]], now: datetime) -> None:
    """After a sweep chunk commits: tell subscribers (alarms) which devices went disconnected."""
    ts = int(now.timestamp() * 1000)
    status_changed_send([StatusChanged(device_pk=pk, owner_id=owner_id, connected=False, ts=ts) for pk, owner_id in due])
