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


def _plans():
    """(generic, custom) plans of this connection's prepared statements that insert messages."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) "
                       "FROM pg_prepared_statements WHERE statement LIKE '%%INSERT INTO devices_message%%'")
        return tuple(cursor.fetchone())


@pytest.mark.parametrize("prepared", [True, False])
def test_the_common_case_is_one_prepared_statement_on_postgresql(client, device, monkeypatch, prepared):
    """Prepared, planned once (a generic plan) and reused (platform/database/prepared.py); with
    prepared statements off (DATABASE_PREPARED_STATEMENTS=false) the same statement through Django."""
    from django.db import connection

    from platform import backends

    monkeypatch.setattr(backends, "PREPARED_STATEMENTS", backends.PREPARED_STATEMENTS and prepared)
    before = _plans() if connection.vendor == "postgresql" else None
    for n in range(3):
        assert post(client, device, {"n": n}).json() == {}
    assert Message.objects.filter(device=device).count() == 3
    if before is not None:
        generic, custom = _plans()
        assert custom == before[1]  # never planned with the values
        assert generic - before[0] == (3 if prepared else 0)  # the one generic plan, used by each
