import json

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """The seeded users' passwords are never checked here; PBKDF2 would cost ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_counters():
    """Rate-limit counters live in the cache (Redis), keyed by device pk: start every test clean."""
    cache.clear()
    yield


def callback_url(device, alias=False):
    return f"/v3/users/{device.owner.username}/devices/{device.device_id}/callback{'' if alias else '/data'}"


def post(client, device, body, token=None, alias=False, content_type="application/json", **extra):
    """POSTs a callback as a device would; token=False sends none."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    if token is not False:
        extra.setdefault("HTTP_AUTHORIZATION", f"Bearer {token or device.token}")
    return client.generic("POST", callback_url(device, alias), data, content_type=content_type, **extra)
