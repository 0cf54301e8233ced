"""What devices announce once it is committed, for apps above it (alarms) to subscribe to.

Ingest and the timeout sweep do not know who listens (devices never imports alarms: docs/operations.md).
Each signal carries plain values and is sent after the transaction that stored them commits, so
a receiver sees committed rows and may open its own transactions. A receiver that raises is
logged and never fails the batch or the sweep: the data is stored either way."""
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import django.dispatch

from platform.payloads import payload_records

if TYPE_CHECKING:
    from devices.ingest import Inbox

logger = logging.getLogger(__name__)

# messages=[StoredMessage, ...], in message id order, once per committed ingest batch.
messages_stored = django.dispatch.Signal()
# devices=[StatusChanged, ...], once per committed chunk of the connection-timeout sweep.
status_changed = django.dispatch.Signal()


@dataclass(frozen=True)
class StoredMessage:
    device_pk: int
    device_id: str
    owner_id: int
    message_id: int
    ts: int
    records: tuple[tuple[int, int, Any], ...]  # ((bucket pk, ts ms, val), ...) written by `write_bucket`
    properties: tuple[tuple[str, Any], ...]  # ((name, value), ...) set by `set_property`


# A named tuple, not a frozen dataclass like StoredMessage: the sweep makes one per flipped device,
# and 100,000 of them cost 107 instead of 146 ms to make and announce (same process, alternating).
class StatusChanged(NamedTuple):
    device_pk: int
    owner_id: int
    connected: bool
    ts: int             # epoch ms of the change


def _send(signal: django.dispatch.Signal, **kwargs: Any) -> None:
    for receiver, result in signal.send_robust(sender=None, **kwargs):
        if isinstance(result, Exception):
            logger.error("%s receiver %r failed; the data is stored, only its follow-up is lost",
                         "messages_stored" if signal is messages_stored else "status_changed", receiver,
                         exc_info=(type(result), result, result.__traceback__))


def messages_stored_send(batch: Iterable["Inbox"]) -> None:
    """Announces a committed batch of inbox messages (devices/ingest.py InboxMessage, or
    devices.Message with its device)."""
    if not messages_stored.has_listeners():
        return
    messages = []
    for m in batch:
        device = m.device
        records = tuple((device.write_bucket_id, ts, val) for _, ts, val in payload_records(m.payload, m.ts)) \
            if device.write_bucket_id else ()
        properties = ((device.set_property, m.payload),) if device.set_property else ()
        messages.append(StoredMessage(device_pk=device.pk, device_id=device.device_id, owner_id=device.owner_id,
                                      message_id=m.pk, ts=m.ts, records=records, properties=properties))
    _send(messages_stored, messages=messages)


def status_changed_send(changes: Iterable[StatusChanged]) -> None:
    """Announces committed connection changes: [StatusChanged, ...]."""
    if changes and status_changed.has_listeners():
        _send(status_changed, devices=list(changes))
