"""Writes on devices. Services take keyword arguments and never see a request."""
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from devices.models import Device, DeviceProperty, Downlink, Message, StatusChange
from devices.payloads import now_ms
from platform.tokens import token_hash, token_new

logger = logging.getLogger(__name__)


@dataclass
class CallbackAnswer:
    body: object = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


def device_create(*, owner, device_id, name="", description="", **settings):
    """Creates a device; returns (device, callback token). The token is shown only now."""
    token = token_new()
    device = Device(owner=owner, device_id=device_id, name=name or device_id, description=description,
                    token_hash=token_hash(token), **settings)
    device.full_clean()
    device.save()
    return device, token


def device_token_regenerate(*, device):
    """A new callback token; the old one stops working at once."""
    token = token_new()
    Device.objects.filter(pk=device.pk).update(token_hash=token_hash(token), modified=timezone.now())
    device.token_hash = token_hash(token)
    return token


def ingest_wake():
    """Wakes the ingest worker. A failure here is harmless: the message is committed and the
    beat redrive finds it."""
    from devices.tasks import process_messages_task

    try:
        process_messages_task.delay()
    except Exception:  # the broker being down must never fail a committed callback
        logger.warning("could not wake the ingest worker; the redrive will pick the message up", exc_info=True)


def message_accept(*, device, payload, size, ip_address=None):
    """Commits one device message to the inbox, updates the device's counters and connection
    state, and picks the answer (a downlink is consumed). Call inside a transaction: a 200 to the
    device must mean all of this is committed. The ingest worker is woken after commit."""
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


def callback_answer(*, device, consume):
    """The oldest queued downlink (consumed, exactly once, when `consume`), else the response
    property's value, else {}."""
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


def property_set(*, device_id, name, value):
    """Sets a device property, creating it if needed."""
    DeviceProperty.objects.update_or_create(device_id=device_id, name=name, defaults={"value": value})


def devices_sweep_timeouts(*, batch_size=1000):
    """Marks disconnected every connected device whose timeout has passed, recording each flip.
    Rows are claimed with SKIP LOCKED and flipped with a conditional update, so several sweepers
    may run at once and no flip is recorded twice. Returns how many devices were flipped."""
    now = timezone.now()
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
