"""The device callback (docs/devices.md): every status of its table, bulk, `ts`, the answer. A
parity suite (`make test` runs it on PostgreSQL and on SQLite)."""
import pytest

from buckets.models import Record
from devices.ingest import messages_process
from devices.models import Device, Downlink, Message, StatusChange
from devices.services import device_create, downlink_queue, property_set
from tests.devices.conftest import callback_url, post

pytestmark = pytest.mark.parity


def error_message(response):
    body = response.json()
    assert body["error"]["code"] == response.status_code
    return body["error"]["message"]


def test_valid_callback_is_200_and_commits_the_message(client, device):
    response = post(client, device, {"temperature": 21.5})
    assert response.status_code == 200
    assert response.json() == {}
    assert Message.objects.get().payload == {"temperature": 21.5}


def test_alias_url_and_query_token_work_too(client, device):
    response = post(client, device, {"a": 1}, alias=True, token=False,
                    QUERY_STRING=f"authorization={device.token}")
    assert response.status_code == 200, response.content
    response = post(client, device, {"a": 2}, alias=True)
    assert response.status_code == 200, response.content
    assert sorted(m.payload["a"] for m in Message.objects.all()) == [1, 2]


@pytest.mark.parametrize("token", ["wrong-token", False, "abc.def"])
def test_wrong_or_missing_token_is_401(client, device, token):
    response = post(client, device, {"a": 1}, token=token)
    assert response.status_code == 401
    assert "callback token" in error_message(response)
    assert not Message.objects.exists()


def test_unknown_user_device_missing_and_wrong_token_answer_identically(client, device, bob):
    answers = [post(client, device, {"a": 1}, token="wrong-token"), post(client, device, {"a": 1}, token=False)]
    device.device_id = "nope"
    answers.append(post(client, device, {"a": 1}))
    device.device_id, device.owner = "d1", bob
    answers.append(post(client, device, {"a": 1}))
    device.owner.username = "nobody"
    answers.append(post(client, device, {"a": 1}))
    assert {(a.status_code, a.content) for a in answers} == {(401, answers[0].content)}


def test_the_401_says_what_to_do_whether_a_token_was_sent_or_not(client, device):
    """The device page's curl pasted with its placeholder sent the header as asked, and was told to
    send the header: the one answer also says where the right token comes from."""
    message = error_message(post(client, device, {"a": 1}, token="YOUR_DEVICE_TOKEN"))
    assert "'Authorization: Bearer <token>'" in message and "regenerate it" in message


def test_disabled_device_is_403(client, device):
    Device.objects.filter(pk=device.pk).update(enabled=False)
    response = post(client, device, {"a": 1})
    assert response.status_code == 403
    assert "disabled" in error_message(response)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405(client, device, method):
    response = client.generic(method, callback_url(device), "{}", content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert response.status_code == 405
    assert "POST" in response["Allow"] and "POST" in error_message(response)


def test_body_over_the_limit_is_413(client, device, settings):
    settings.DEVICE_CALLBACK_MAX_BYTES = 100
    response = post(client, device, {"a": "x" * 200})
    assert response.status_code == 413
    assert "at most 100 bytes" in error_message(response)
    assert not Message.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_non_json_content_type_is_415(client, device, content_type):
    response = post(client, device, '{"a": 1}', content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in error_message(response)


def test_json_with_charset_is_accepted(client, device):
    assert post(client, device, {"a": 1}, content_type="application/json; charset=utf-8").status_code == 200


def test_over_the_rate_limit_is_429_with_retry_after(client, device, settings):
    settings.DEVICE_RATE_LIMIT = 2
    assert [post(client, device, {"n": n}).status_code for n in range(3)] == [200, 200, 429]
    response = post(client, device, {"n": 4})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "per minute" in error_message(response)
    assert Message.objects.count() == 2


def test_rate_limit_is_per_device(client, device, alice, settings):
    settings.DEVICE_RATE_LIMIT = 1
    other, token = device_create(owner=alice, device_id="d2")
    other.token = token
    assert post(client, device, {"a": 1}).status_code == 200
    assert post(client, other, {"a": 1}).status_code == 200
    assert post(client, device, {"a": 1}).status_code == 429


def test_wrong_tokens_do_not_use_up_a_devices_allowance(client, device, settings):
    """The count is taken in the same round trip as the device lookup, before the token is checked:
    it is kept under the presented token's hash, so only the device's own token reaches its count."""
    settings.DEVICE_RATE_LIMIT = 2
    assert {post(client, device, {"a": 1}, token="wrong").status_code for _ in range(5)} == {401}
    assert [post(client, device, {"n": n}).status_code for n in range(3)] == [200, 200, 429]


def test_rate_limit_zero_is_off(client, device, settings):
    settings.DEVICE_RATE_LIMIT = 0
    assert {post(client, device, {"n": n}).status_code for n in range(5)} == {200}


@pytest.mark.parametrize("body, says", [
    ("{not json", "Malformed JSON"),
    ("  ", "Empty body"),
    ("[]", "Empty array"),
    ("42", "Expected a JSON object in the body, got a number"),
    ('[{"a": 1}, "x"]', "element 1, got a string"),
    ('{"ts": "yesterday"}', "Bad 'ts'"),
    ('{"ts": -5}', "Bad 'ts'"),
    ('{"a": NaN}', "'NaN' is not JSON"),
    ('{"a": 1e400}', "out of range"),
    ('{"a": "nul\\u0000"}', "NUL character"),
    ('{"a": "\\ud800"}', "Unpaired UTF-16 surrogate"),
    ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    (b'{"a": "\xff"}', "Malformed JSON"),
])
def test_bad_bodies_are_400_saying_what_to_fix(client, device, body, says):
    response = post(client, device, body)
    assert response.status_code == 400
    assert says in error_message(response)
    assert not Message.objects.exists()


def test_bulk_array_stores_one_record_per_element_with_ts(client, device, bucket):
    response = post(client, device, [{"t": 1, "ts": 1700000000000}, {"t": 2, "ts": 1700000060000}, {"t": 3}])
    assert response.status_code == 200
    assert messages_process() == 1
    records = list(Record.objects.filter(bucket=bucket).order_by("index").values_list("index", "ts", "val"))
    assert records[:2] == [(0, 1700000000000, {"t": 1}), (1, 1700000060000, {"t": 2})]
    received = Message.objects.get().ts
    assert records[2] == (2, received, {"t": 3})


def test_get_reads_the_answer_without_storing(client, device):
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    Device.objects.filter(pk=device.pk).update(send_property="config")
    response = client.get(callback_url(device), {"authorization": device.token})
    assert response.status_code == 200
    assert response.json() == {"interval": 60}
    assert not Message.objects.exists()
    assert client.get(callback_url(device)).status_code == 401


def test_send_property_is_the_answer(client, device):
    Device.objects.filter(pk=device.pk).update(send_property="config")
    assert post(client, device, {"a": 1}).json() == {}  # not set yet
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    assert post(client, device, {"a": 1}).json() == {"interval": 60}


def test_a_null_send_property_is_the_answer(client, device):
    Device.objects.filter(pk=device.pk).update(send_property="config")
    property_set(device_id=device.pk, name="config", value=None)
    response = post(client, device, {"a": 1})
    assert response.status_code == 200 and response.content == b"null"


def test_oldest_downlink_is_the_answer_and_delivered_once(client, device):
    first = downlink_queue(device=device, payload={"led": "on"})
    second = downlink_queue(device=device, payload={"led": "off"})
    response = post(client, device, {"a": 1})
    assert response.json() == {"led": "on"}
    assert (response["X-Downlink-Id"], response["X-Downlinks-Pending"]) == (str(first.pk), "1")
    # GET peeks at the next answer without consuming it.
    peek = client.get(callback_url(device), HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert peek.json() == {"led": "off"} and peek["X-Downlink-Id"] == str(second.pk)
    response = post(client, device, {"a": 2})
    assert (response.json(), response["X-Downlinks-Pending"]) == ({"led": "off"}, "0")
    assert post(client, device, {"a": 3}).json() == {}
    assert not Downlink.objects.filter(delivered_at__isnull=True).exists()


def test_callback_marks_connected_and_counts(client, device):
    post(client, device, {"a": 1}, REMOTE_ADDR="10.1.2.3")
    post(client, device, {"a": 2})
    device.refresh_from_db()
    assert device.connected and device.rx_messages == 2 and device.rx_bytes == 2 * len('{"a": 1}')
    assert device.tx_bytes == 4  # "{}" twice
    assert list(StatusChange.objects.values_list("connected", flat=True)) == [True]


def test_callback_then_ingest_stores_the_record(client, device, bucket):
    post(client, device, {"temperature": 21.5, "ts": 1700000000000})
    assert messages_process() == 1
    record = Record.objects.get()
    assert (record.bucket_id, record.ts, record.val) == (bucket.pk, 1700000000000, {"temperature": 21.5})
