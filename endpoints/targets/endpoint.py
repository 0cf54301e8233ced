"""Thinger-style endpoints: a templated request; failures retried on ENDPOINTS_RETRY_SCHEDULE,
then the delivery is failed (a person can retry it)."""
import json
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from endpoints import templating
from endpoints.models import Endpoint

if TYPE_CHECKING:
    from endpoints.models import Delivery
    from endpoints.sender.io import Claimed
    from endpoints.targets import Request

Model = Endpoint

# Waits after the 1st, 2nd, ... failed attempt, in seconds (like Svix's webhook schedule): seconds,
# then minutes, then hours; 8 attempts over about 27 hours, then the delivery is `failed`.
DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
JITTER = 0.2


def retry_schedule() -> list[float]:
    """settings.ENDPOINTS_RETRY_SCHEDULE if set (a list of seconds), else the default."""
    return list(getattr(settings, "ENDPOINTS_RETRY_SCHEDULE", None) or DEFAULT_RETRY_SCHEDULE)


def retry_delay(failed_attempts: int) -> float | None:
    """Seconds to wait after that many failed attempts, with +-20% jitter so that targets that
    failed together do not retry together; None once the schedule is exhausted."""
    schedule = retry_schedule()
    if failed_attempts > len(schedule):
        return None
    return schedule[failed_attempts - 1] * (1 + random.uniform(-JITTER, JITTER))


def available(now: datetime) -> Q:
    return Q(endpoint__isnull=True) | Q(endpoint__enabled=True)


def resumes_at(now: datetime) -> None:
    """Endpoints pause no more than each delivery's own next_attempt_at says."""


def request(target: Endpoint, delivery: "Delivery | Claimed") -> "Request":
    """(method, url, headers, body), templates filled: the message is the template data."""
    from endpoints.targets import message_id_header

    context = {"payload": delivery.payload, "device": delivery.device_id, "device_name": delivery.device_name,
               "user": target.owner.get_username(), "ts": delivery.ts}
    url = templating.render_url(target.url, context)
    headers = {"Content-Type": "application/json", **templating.render_headers(target.headers, context)}
    if target.method == "GET":
        body = None
    elif target.body:
        body = templating.render_body(target.body, context)
    else:
        body = json.dumps(delivery.payload)
    headers["X-Message-Id"] = message_id_header(delivery)
    return target.method, url, headers, body


def timeout(target: Endpoint) -> float:
    return target.timeout


def after_failure(target: Endpoint, delivery: "Delivery | Claimed", now: datetime, *,
                  attempts: int) -> tuple[datetime | None, None]:
    delay = retry_delay(attempts)
    return (None if delay is None else now + timedelta(seconds=delay)), None


def settle(target: Endpoint, *, ok: bool, now: datetime, blame: None, sent_at: datetime | None = None) -> None:
    """Endpoints keep no state of their own between attempts."""
