import json

import pytest

from buckets.models import Record
from devices.ingest import messages_process
from devices.models import Message


def post(client, device, body, token=None, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = {}
    if token is not False:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token or device.token}"
    return client.post(f"/v3/users/{device.owner.username}/devices/{device.device_id}/callback/data", data,
                       content_type="application/json", **headers, **extra)


def test_valid_callback_is_200_and_commits_the_message(client, device):
    response = post(client, device, {"temperature": 21.5})
    assert response.status_code == 200
    assert response.json() == {}
    assert Message.objects.get().payload == {"temperature": 21.5}


@pytest.mark.parametrize("token", ["wrong-token", False])
def test_wrong_or_missing_token_is_401(client, device, token):
    response = post(client, device, {"a": 1}, token=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == 401
    assert not Message.objects.exists()


def test_unknown_device_and_wrong_token_answer_identically(client, device):
    wrong = post(client, device, {"a": 1}, token="wrong-token")
    device.device_id = "nope"
    unknown = post(client, device, {"a": 1})
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content)


def test_malformed_json_is_400_saying_so(client, device):
    response = post(client, device, "{not json")
    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["error"]["message"]
    assert not Message.objects.exists()


def test_callback_then_ingest_stores_the_record(client, device, bucket):
    post(client, device, {"temperature": 21.5, "ts": 1700000000000})
    assert messages_process() == 1
    record = Record.objects.get()
    assert (record.bucket_id, record.ts, record.val) == (bucket.pk, 1700000000000, {"temperature": 21.5})
