"""ThingPark-style HTTP connections ("Applications"). A failure makes the connection UNREACHABLE
and pauses all its deliveries for its blamePeriod; then they resume with the oldest pending
message. Failures in a row double the pause, up to 16 x blamePeriod and never past 10 minutes.
Nothing is dropped: only a request that can never be sent as configured fails a delivery."""
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Min, Q, QuerySet

from endpoints import templating
from endpoints.models import Connection

if TYPE_CHECKING:
    from endpoints.models import Delivery
    from endpoints.sender.io import Claimed
    from endpoints.targets import Request

Model = Connection
# Connections have no timeout setting of their own (ThingPark's have none either).
TIMEOUT = 10
MAX_PAUSE = 600
MAX_DOUBLINGS = 4


def downlink_url(connection: Connection) -> str:
    return f"{settings.SITE_URL}/iot-flow/downlinkMessages/{connection.downlink_secret}"


def available(now: datetime) -> Q:
    return Q(connection__isnull=True) | (Q(connection__active=True) & (
        Q(connection__blamed_until__isnull=True) | Q(connection__blamed_until__lte=now)))


def resumes_at(now: datetime) -> datetime | None:
    """When the first blame over pending deliveries ends: they are not due before."""
    from endpoints.models import Delivery

    blamed = Connection.objects.filter(active=True, blamed_until__gt=now, deliveries__state=Delivery.PENDING)
    return blamed.aggregate(first=Min("blamed_until"))["first"]


def request(target: Connection, delivery: "Delivery | Claimed") -> "Request":
    """The DevEUI_uplink body (or the raw device JSON with sendRawDecodedFormat) and the
    configured headers with ThingPark placeholders filled."""
    from endpoints.targets import message_id_header

    customer = target.owner.get_username()
    if target.send_raw_decoded_format:
        body = delivery.payload
    else:
        body = {"DevEUI_uplink": {"Time": templating.iso_time(delivery.ts), "DevEUI": delivery.device_id,
                                  "CustomerID": customer, "payload": delivery.payload,
                                  "downlinkUrl": downlink_url(target)}}
    headers = {"Content-Type": "application/json", **templating.render_thingpark_headers(
        target.headers, device=delivery.device_id, device_name=delivery.device_name, customer=customer,
        ts=delivery.ts, payload=delivery.payload)}
    headers["X-Message-Id"] = message_id_header(delivery)
    return "POST", target.destination_url, headers, json.dumps(body)


def timeout(target: Connection) -> float:
    return TIMEOUT


def pause(connection: Connection, failures: int) -> int:
    """Seconds of blame after `failures` failed episodes in a row (1 = the first)."""
    doublings = min(max(failures - 1, 0), MAX_DOUBLINGS)
    return max(1, min(MAX_PAUSE, connection.blame_period * 2 ** doublings))


def after_failure(target: Connection, delivery: "Delivery | Claimed", now: datetime, *,
                  attempts: int) -> tuple[datetime, tuple[datetime, int] | None]:
    """The delivery waits for the end of the blame, and so does every other of this connection.
    A failure while already blamed (a request that was in flight) does not lengthen the pause."""
    if target.blamed_until and target.blamed_until > now:
        return target.blamed_until, None
    failures = target.blame_count + 1
    until = now + timedelta(seconds=pause(target, failures))
    target.blamed_until, target.blame_count, target.blamed_at = until, failures, now
    return until, (until, failures)


def settle(target: Connection, *, ok: bool, now: datetime, blame: tuple[datetime, int] | None,
           sent_at: datetime | None = None) -> None:
    """OPENED after a success whose request was sent after the blame began (`sent_at`);
    UNREACHABLE with the blame (which began `now`) after a failure. A deactivated connection keeps
    its state (conditional updates). No write when nothing changes, which is the common case: a
    success on a connection that is OPENED already."""
    if ok and target.state == Connection.OPENED and not target.blame_count and target.blamed_until is None:
        return
    live = Connection.objects.filter(pk=target.pk).exclude(state=Connection.DEACTIVATED)
    if ok:
        _unblame(target, live, sent_at or now)
    elif blame:
        until, failures = blame
        if live.update(state=Connection.UNREACHABLE, blamed_until=until, blame_count=failures, blamed_at=now):
            target.state = Connection.UNREACHABLE


def _unblame(target: Connection, live: "QuerySet[Connection]", sent_at: datetime) -> None:
    """A request that was already in flight when the blame began says nothing about the receiver
    since: it leaves the blame (and its doubling) alone. The condition is also checked in the row,
    as another sender may have blamed the connection since this one loaded it."""
    if target.blamed_at and sent_at < target.blamed_at:
        return
    if live.exclude(blamed_at__gt=sent_at).update(state=Connection.OPENED, blamed_until=None, blame_count=0,
                                                  blamed_at=None):
        target.state, target.blamed_until, target.blame_count, target.blamed_at = Connection.OPENED, None, 0, None
