"""The callback outside a test transaction, as in production: on PostgreSQL the common case is one
autocommit statement (devices/accept.py _ACCEPT_FAST_SQL); a queued downlink or a response
property takes the transactional path; on SQLite the ORM path. A parity suite: same results on
every path."""
import pytest

from devices.models import Device, Downlink, Message, StatusChange
from devices.services import downlink_queue, property_set
from tests.devices.conftest import post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.parity]


def test_a_callback_stores_counts_and_connects_once(client, device):
    assert post(client, device, {"a": 1}).json() == {}
    assert post(client, device, {"a": 2}).json() == {}
    device.refresh_from_db()
    assert (device.rx_messages, device.tx_bytes, device.connected) == (2, 4, True)
    assert device.disconnect_at > device.last_seen
    assert Message.objects.filter(device=device).count() == 2
    assert list(StatusChange.objects.filter(device=device).values_list("connected", flat=True)) == [True]


def test_a_queued_downlink_is_the_answer_once(client, device):
    assert post(client, device, {"a": 1}).json() == {}
    downlink = downlink_queue(device=device, payload={"led": "on"})
    response = post(client, device, {"a": 2})
    assert response.json() == {"led": "on"} and response["X-Downlink-Id"] == str(downlink.pk)
    assert post(client, device, {"a": 3}).json() == {}
    assert Downlink.objects.get(pk=downlink.pk).delivered_at is not None
    assert Message.objects.filter(device=device).count() == 3  # the fallback stored its message once
    device.refresh_from_db()
    assert (device.rx_messages, device.tx_bytes) == (3, 2 + len('{"led":"on"}') + 2)


def test_a_response_property_is_the_answer(client, device):
    Device.objects.filter(pk=device.pk).update(send_property="config")
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    assert post(client, device, {"a": 1}).json() == {"interval": 60}
    assert Message.objects.filter(device=device).count() == 1
