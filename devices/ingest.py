"""The ingest worker's job: turn inbox messages into records, properties and deliveries."""
import random

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from buckets.services import records_store
from devices.accept import ingest_wake_clear
from devices.models import Device, Message
from devices.services import properties_store
from devices.signals import messages_stored_send
from endpoints.delivery import DeliveryItem, deliveries_create
from platform.payloads import payload_records

# pg_try_advisory_xact_lock(INGEST_LOCK, partition) is held by the batch of that partition in progress.
INGEST_LOCK = 0x1D6E57


def messages_process(*, batch_size=None):
    """Processes pending inbox messages in batches until none is left; returns how many.

    Messages are hashed by device into INGEST_PARTITIONS partitions. Batches of one partition run
    one at a time across workers (a transaction-level advisory lock, tried, never waited for), so
    each device's messages commit in id order and so do their deliveries, which a lane sends in
    id order (tests/e2e/test_faults_delivery.py); batches of different partitions run in
    parallel, on as many worker processes and hosts as there are. Each batch is one transaction:
    a worker dying mid-batch leaves the batch pending for the next one. Idempotent: records are
    unique on (bucket, message, index) and properties only move to newer messages, so a batch
    processed twice stores nothing twice."""
    batch_size = batch_size or settings.INGEST_BATCH_SIZE
    count = settings.INGEST_PARTITIONS
    done = 0
    while True:
        ingest_wake_clear()  # before the claim: a message committed from now on publishes a new wake-up
        pending = set(Message.objects.filter(processed_at__isnull=True).annotate(partition=F("device_id") % count)
                      .values_list("partition", flat=True).distinct()[:count])
        if not pending:
            return done
        progress = 0
        for partition in random.sample(sorted(pending), len(pending)):
            progress += _batch_process(partition, count, batch_size)
        if not progress:  # every pending partition is being processed by another worker
            return done
        done += progress


def _batch_process(partition, count, batch_size):
    """One batch of one partition, if no other worker holds that partition; returns its size."""
    with transaction.atomic():
        if connection.vendor == "postgresql":  # SQLite (embedded mode) has one writer anyway
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [INGEST_LOCK, partition])
                if not cursor.fetchone()[0]:
                    return 0
        batch = list(Message.objects.select_for_update(skip_locked=True, of=("self",))
                     .filter(processed_at__isnull=True).annotate(partition=F("device_id") % count)
                     .filter(partition=partition).select_related("device").order_by("id")[:batch_size])
        if batch:
            messages_apply(batch)
            Message.objects.filter(pk__in=[m.pk for m in batch]).update(processed_at=timezone.now())
    if batch:
        messages_stored_send(batch)  # committed: alarms evaluate it (never raises)
    return len(batch)


def messages_apply(batch):
    """Applies the callback actions of each message of a batch (in id order): bucket records in one
    INSERT per bucket, and one property write per (device, `set_property`) holding the batch's last
    payload. Endpoint and application deliveries are created here too. Safe to run twice on the
    same batch."""
    by_bucket = {}
    latest_property = {}
    for message in batch:
        device = message.device
        if device.write_bucket_id:
            rows = by_bucket.setdefault(device.write_bucket_id, [])
            rows.extend((message.pk, index, ts, val) for index, ts, val in payload_records(message.payload, message.ts))
        if device.set_property:
            # The batch is in id order: a later message of the same device replaces the earlier one.
            latest_property[(device.pk, device.set_property)] = (message.pk, message.payload)
    for bucket_pk, rows in by_bucket.items():
        records_store(bucket_pk=bucket_pk, rows=rows)
    properties_store(rows=[(device_pk, name, message_pk, payload)
                           for (device_pk, name), (message_pk, payload) in latest_property.items()])
    # One Delivery per message and target; endpoints knows no devices, so it gets plain values.
    attached = {}
    for device_pk, connection_pk in Device.applications.through.objects.filter(
            device_id__in={m.device_id for m in batch}).values_list("device_id", "connection_id"):
        attached.setdefault(device_pk, []).append(connection_pk)
    deliveries_create(items=[DeliveryItem(
        owner_id=m.device.owner_id, endpoint_pk=m.device.call_endpoint_id, connection_pks=attached.get(m.device_id, ()),
        message_id=m.pk, device_id=m.device.device_id, device_name=m.device.name, payload=m.payload, ts=m.ts)
        for m in batch])
