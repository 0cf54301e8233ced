"""The callback's cached token lookup (devices/cache.py): every write that changes what the
callback reads takes effect on the very next callback."""
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from devices import cache as callback_cache
from devices.models import Device
from devices.selectors import device_for_callback
from devices.services import callback_settings_set, device_delete, device_token_regenerate, device_update, property_set
from platform.tokens import token_hash
from tests.devices.conftest import post

pytestmark = pytest.mark.skipif(not callback_cache.enabled(), reason="the lookup is cached only in a shared cache")


def test_the_second_callback_costs_no_lookup_query(client, device):
    assert post(client, device, {"a": 1}).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert device_for_callback("alice", "d1", device.token)[0].pk == device.pk
    assert len(queries) == 0


def test_a_regenerated_token_stops_working_at_once(client, device):
    assert post(client, device, {"a": 1}).status_code == 200
    new = device_token_regenerate(device=device)
    assert post(client, device, {"a": 2}).status_code == 401
    assert post(client, device, {"a": 3}, token=new).status_code == 200


def test_disabling_takes_effect_at_once(client, device):
    assert post(client, device, {"a": 1}).status_code == 200
    device_update(device=device, enabled=False)
    assert post(client, device, {"a": 2}).status_code == 403


def test_a_deleted_device_stops_at_once(client, device):
    assert post(client, device, {"a": 1}).status_code == 200
    token = device.token
    device_delete(device=device)
    assert post(client, device, {"a": 2}, token=token).status_code == 401


def test_a_settings_change_takes_effect_at_once(client, device):
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    assert post(client, device, {"a": 1}).json() == {}
    callback_settings_set(device=Device.objects.get(pk=device.pk), send_property="config")
    assert post(client, device, {"a": 2}).json() == {"interval": 60}


def test_a_renamed_owner_loses_the_old_url(client, device, alice):
    def post_as(username):
        return client.post(f"/v3/users/{username}/devices/d1/callback/data", {"a": 1}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {device.token}").status_code

    assert post_as("alice") == 200
    alice.username = "alicia"
    alice.save()
    assert post_as("alice") == 401
    assert post_as("alicia") == 200


def test_a_read_from_before_a_write_is_never_served_after_it(client, device):
    """A callback read the old row, the token was regenerated (and invalidated) meanwhile, then the
    callback stored what it read: stored under the old version, no later read accepts it."""
    cached, versions, _ = callback_cache.device_get("alice", "d1")
    assert cached is None
    old_row = Device.objects.filter(pk=device.pk).values(*callback_cache.FIELDS).first()
    device_token_regenerate(device=device)
    callback_cache.device_put("alice", "d1", old_row, versions)  # the slow reader stores late
    assert post(client, device, {"a": 1}).status_code == 401


def test_after_a_restore_clear_cache_makes_the_database_s_token_the_one_that_works(client, device):
    """A restore rewrites rows behind the platform's back (docs/operations.md, Backups): until the
    cache is cleared, the callback still answers from the lookup cached before it."""
    assert post(client, device, {"a": 1}).status_code == 200
    Device.objects.filter(pk=device.pk).update(token_hash=token_hash("restored-token"))
    assert post(client, device, {"a": 2}).status_code == 200  # the cached lookup, stale
    out = io.StringIO()
    call_command("clear_cache", stdout=out)
    assert out.getvalue() == "Cache cleared.\n"
    assert post(client, device, {"a": 3}).status_code == 401
    assert post(client, device, {"a": 4}, token="restored-token").status_code == 200
