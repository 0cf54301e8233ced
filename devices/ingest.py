"""The ingest worker's job: turn inbox messages into records, properties and deliveries."""
import logging
import random
import time
from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from buckets.services import records_store_many
from devices.accept import ingest_wake_clear
from devices.models import Device, Message
from devices.services import properties_store
from devices.signals import messages_stored_send
from endpoints.delivery import DeliveryItem, deliveries_create
from platform import backends
from platform.payloads import payload_records

logger = logging.getLogger(__name__)
# pg_try_advisory_xact_lock(INGEST_LOCK, partition) is held by the batch of that partition in progress.
INGEST_LOCK = 0x1D6E57
_short_batch_at = 0.0  # time.monotonic() of this process's last batch that was not full


class InboxDevice(NamedTuple):
    """What storing a message reads of its device."""

    pk: int
    owner_id: int
    device_id: str
    name: str
    write_bucket_id: int | None
    set_property: str
    call_endpoint_id: int | None


class InboxMessage(NamedTuple):
    """An inbox message as a batch reads it: tuples, not model instances with their devices, whose
    building was about a third of the storage worker's CPU (docs/performance.md, "Intake levers"). Named like
    Message's fields: a Message with its device (select_related) may be stored the same way."""

    pk: int
    device_id: int  # the device's pk, as on Message
    payload: Any
    ts: int
    device: InboxDevice


Inbox = InboxMessage | Message
_INBOX_COLUMNS = ("id", "device_id", "payload", "ts", "device__owner_id", "device__device_id", "device__name",
                  "device__write_bucket_id", "device__set_property", "device__call_endpoint_id")


def messages_process(*, batch_size: int | None = None, budget_seconds: float | None = None) -> int:
    """Processes pending inbox messages in batches until none is left; returns how many.

    Messages are hashed by device into INGEST_PARTITIONS partitions, and a batch holds the
    partitions it covers (transaction-level advisory locks, tried, never waited for, where
    backends.INGEST_PARTITION_LOCKS; SQLite has one writer at a time anyway): batches of
    one partition run one at a time across workers, so each device's messages commit in id order
    and so do their deliveries, which a lane sends in id order (tests/e2e/test_faults_delivery.py),
    while batches of other partitions run in parallel on as many worker processes and hosts as
    there are. A batch takes as few partitions as fill it: all of them when the inbox is short (one
    transaction, as cheap as an unpartitioned batch), one when each has a full batch waiting (so
    a second worker finds the others free). Each batch is one transaction: a worker dying mid-batch
    leaves it pending for the next one. Idempotent: records are unique on (bucket, message, index)
    and properties only move to newer messages, so a batch processed twice stores nothing twice."""
    batch_size = batch_size or settings.INGEST_BATCH_SIZE
    done = 0
    started = time.monotonic()
    while True:
        if budget_seconds is not None and time.monotonic() - started > budget_seconds:
            _continue_later()
            return done
        _linger()
        ingest_wake_clear()  # before the claim: a message committed from now on publishes a new wake-up
        waiting = _pending_by_partition(batch_size)
        if not waiting:
            return done
        processed = _batch_process(waiting, batch_size)
        if not processed:  # every partition with work is being processed by another worker
            return done
        if processed < batch_size:
            _short_batch_stamp()
        done += processed


def _short_batch_stamp() -> None:
    global _short_batch_at
    _short_batch_at = time.monotonic()


def _linger() -> None:
    """Under a steady stream of callbacks each batch would hold only what arrived while the last
    one was being stored, and a batch's fixed cost (about ten statements) would be paid for a few
    messages. So after a batch that was not full the next claim waits until INGEST_LINGER_MS have
    passed since it: what arrives meanwhile joins it (and publishes at most one wake-up, the flag
    being debounced). A worker that was idle claims at once, and a full batch is followed at once.
    Measured in the README's "Intake levers"."""
    wait = _short_batch_at + settings.INGEST_LINGER_MS / 1000 - time.monotonic()
    if wait > 0:
        time.sleep(wait)


def _continue_later() -> None:
    """A task has a time limit: past its budget it hands the rest to a new task (if the broker is
    down, the beat redrive finds the messages)."""
    from devices.tasks import process_messages_task

    try:
        process_messages_task.delay()
    except Exception:
        logger.warning("could not queue the rest of the inbox; the redrive will", exc_info=True)


def _pending_by_partition(batch_size: int) -> dict[int, int]:
    """{partition: pending messages} over the oldest pending messages (a bounded look)."""
    count = settings.INGEST_PARTITIONS
    oldest = (Message.objects.filter(processed_at__isnull=True).order_by("id")
              .annotate(partition=F("device_id") % count).values_list("partition", flat=True)[:batch_size * 4])
    waiting: dict[int, int] = {}
    for partition in oldest:
        waiting[partition] = waiting.get(partition, 0) + 1
    return waiting


def _partitions_lock(waiting: dict[int, int], batch_size: int) -> list[int]:
    """Tries the partitions with work in random order and keeps those it gets until they hold a
    full batch; without advisory locks (SQLite, one writer anyway) all of them."""
    order = random.sample(sorted(waiting), len(waiting))
    if not backends.INGEST_PARTITION_LOCKS:
        return order
    with connection.cursor() as cursor:
        if sum(waiting.values()) <= batch_size:  # a short inbox: one round trip for all of them
            cursor.execute("SELECT p FROM unnest(%s::int[]) AS p WHERE pg_try_advisory_xact_lock(%s, p)",
                           [order, INGEST_LOCK])
            return [row[0] for row in cursor.fetchall()]
        locked, total = [], 0
        for partition in order:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [INGEST_LOCK, partition])
            if cursor.fetchone()[0]:
                locked.append(partition)
                total += waiting[partition]
                if total >= batch_size:
                    break
        return locked


def _batch_process(waiting: dict[int, int], batch_size: int) -> int:
    """One batch over the partitions this worker could lock; returns its size (0: none free)."""
    with transaction.atomic():
        locked = _partitions_lock(waiting, batch_size)
        if not locked:
            return 0
        rows = (Message.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(processed_at__isnull=True).annotate(partition=F("device_id") % settings.INGEST_PARTITIONS)
                .filter(partition__in=locked).order_by("id").values_list(*_INBOX_COLUMNS)[:batch_size])
        batch = [InboxMessage(pk, device_pk, payload, ts, InboxDevice(device_pk, *device))
                 for pk, device_pk, payload, ts, *device in rows]
        if batch:
            messages_apply(batch)
            Message.objects.filter(pk__in=[m.pk for m in batch]).update(processed_at=timezone.now())
    if batch:
        messages_stored_send(batch)  # committed: alarms evaluate it (never raises)
    return len(batch)


def messages_apply(batch: Sequence[Inbox]) -> None:
    """Applies the callback actions of each message of a batch (in id order): bucket records in one
    INSERT for all its buckets, and one property write per (device, `set_property`) holding the batch's last
    payload. Endpoint and application deliveries are created here too. Safe to run twice on the
    same batch."""
    by_bucket: dict[int, list[tuple[int, int, int, Any]]] = {}
    latest_property: dict[tuple[int, str], tuple[int, Any]] = {}
    for message in batch:
        device = message.device
        if device.write_bucket_id:
            rows = by_bucket.setdefault(device.write_bucket_id, [])
            rows.extend((message.pk, index, ts, val) for index, ts, val in payload_records(message.payload, message.ts))
        if device.set_property:
            # The batch is in id order: a later message of the same device replaces the earlier one.
            latest_property[(device.pk, device.set_property)] = (message.pk, message.payload)
    records_store_many(rows_by_bucket=by_bucket)
    properties_store(rows=[(device_pk, name, message_pk, payload)
                           for (device_pk, name), (message_pk, payload) in latest_property.items()])
    # One Delivery per message and target; endpoints knows no devices, so it gets plain values.
    attached: dict[int, list[UUID]] = {}
    for device_pk, connection_pk in Device.applications.through.objects.filter(
            device_id__in={m.device_id for m in batch}).values_list("device_id", "connection_id"):
        attached.setdefault(device_pk, []).append(connection_pk)
    deliveries_create(items=[DeliveryItem(
        owner_id=m.device.owner_id, endpoint_pk=m.device.call_endpoint_id, connection_pks=tuple(attached.get(m.device_id, ())),
        message_id=m.pk, device_id=m.device.device_id, device_name=m.device.name, payload=m.payload, ts=m.ts)
        for m in batch])
