"""Alarms tests: rules made through the service, data through the real ingest path (inbox rows,
messages_process, the messages_stored announcement)."""
import itertools

import pytest
from django.core.cache import cache

from alarms import services
from devices.ingest import messages_process
from devices.models import Message
from platform.clock import now_ms
from tests.stack import free_port  # noqa: F401  (the alarm tests import it from here)

_ts = itertools.count()


@pytest.fixture(autouse=True)
def _alarm_settings(settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True
    settings.SITE_URL = "https://iot.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The watch map lives in the shared cache: no test sees another's rules."""
    cache.clear()
    yield
    cache.clear()


def make_rule(owner, rule_id="too-hot", **spec):
    """A rule through the service; by default "b1.temperature > 30, at once". A status or silence
    rule gets no field and no condition (the service refuses them)."""
    from buckets.models import Bucket

    defaults = {"source_type": "bucket", "field": "temperature", "condition": {"op": "gt", "value": 30},
                "severity": "high"}
    if spec.get("source_type") in ("status", "silence"):
        defaults = {"severity": "high"}
    if "bucket" not in spec and spec.get("source_type", "bucket") == "bucket":
        spec["bucket"] = Bucket.objects.get(owner=owner, bucket_id="b1")
    return services.rule_create(owner=owner, rule_id=rule_id, **{**defaults, **spec})


def ingest(device, *payloads, ts=None):
    """Puts payloads in the device's inbox, as the callback does, and runs the ingest worker."""
    base = ts if ts is not None else now_ms()
    for n, payload in enumerate(payloads):
        Message.objects.create(device=device, payload=payload, ts=base + n + next(_ts) % 1, size=1)
    return messages_process()


