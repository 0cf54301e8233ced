"""The two kinds of delivery target, each in its own module: what a request to it looks like and
what a failure means for it. The engine (endpoints/sender/) works through `kind_of` and never
branches on the kind itself.

A kind module offers:
  Model                     the target model
  available(now)            a Q on Delivery: its target may be sent to now
  resumes_at(now)           the first time after now a pause of this kind (beyond the deliveries'
                            own next_attempt_at) ends, or None
  request(target, delivery) (method, url, headers, body); raises TemplateError/TransportError
  timeout(target)           seconds
  after_failure(target, delivery, now) -> (next_attempt_at or None for failed for good, blame or None)
  settle(target, ok, now, blame, sent_at) updates the target's own state after its attempts of one
                            batch (sent_at: the latest send time of its successes)
"""
import zlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from endpoints.targets import connection, endpoint

if TYPE_CHECKING:
    from endpoints.models import Delivery
    from endpoints.sender.io import Claimed

# What a kind's request() returns: (method, url, headers, body or None). Its `delivery` is a row, or
# the sender's lighter copy of one (Claimed).
Request = tuple[str, str, dict[str, str], str | None]

KINDS: dict[str, ModuleType] = {"endpoint": endpoint, "connection": connection}


def kind_of(delivery: "Delivery | Claimed") -> tuple[str, ModuleType]:
    """(name, module) of a delivery's target."""
    return ("endpoint", endpoint) if delivery.endpoint_id else ("connection", connection)


def lane_of(*, endpoint_pk: int | None = None, connection_pk: Any = None, device_id: str = "") -> int:
    """The lane number of one device's deliveries to one target: stable across processes."""
    target = f"e{endpoint_pk}" if endpoint_pk else f"c{connection_pk}"
    return zlib.crc32(f"{target}/{device_id}".encode())


def message_id_header(delivery: "Delivery | Claimed") -> str:
    """The same value on every retry of a delivery, so receivers can de-duplicate."""
    return str(delivery.message_id) if delivery.message_id is not None else f"call-{delivery.pk}"
