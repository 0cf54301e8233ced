"""The schema's request examples are the bodies Swagger UI (/api/docs/) fills in for "Try it
out": each must be accepted as pasted by a user who has what it names. They are sent here in the
order a new user would try them (the bucket before the device that writes to it, the endpoint
before the rule that notifies it), with the ids of the docs."""
import json

from django.utils import timezone
from rest_framework.test import APIClient

from alarms.models import Alarm, Rule
from devices.models import Device

DEVICE, PROPERTY = "/v1/users/{user}/devices/{device}", "/v3/users/{user}/devices/{device}"
BUCKET, ENDPOINT = "/v1/users/{user}/buckets", "/v1/users/{user}/endpoints"
CONNECTION, RULE = "/iot-flow/v1/connections", "/v1/users/{user}/alarms/rules"
DASHBOARD = "/v1/users/{user}/dashboards"

ORDER = [
    ("post", BUCKET), ("post", ENDPOINT), ("post", CONNECTION), ("post", "/v1/users/{user}/devices"),
    ("put", DEVICE), ("patch", DEVICE),
    ("put", f"{PROPERTY}/callback"),
    ("post", f"{PROPERTY}/properties"), ("put", f"{PROPERTY}/properties/{{property}}"),
    ("patch", f"{PROPERTY}/properties/{{property}}"), ("post", f"{PROPERTY}/downlinks"),
    ("post", f"{PROPERTY}/callback/data"), ("post", f"{PROPERTY}/callback"),
    ("post", "/iot-flow/downlinkMessages/{secret}"),
    ("post", f"{BUCKET}/{{bucket}}/data"), ("put", f"{BUCKET}/{{bucket}}"), ("patch", f"{BUCKET}/{{bucket}}"),
    ("put", f"{ENDPOINT}/{{endpoint}}"), ("patch", f"{ENDPOINT}/{{endpoint}}"),
    ("post", f"{ENDPOINT}/{{endpoint}}/call"), ("put", f"{CONNECTION}/{{connection}}"),
    ("post", RULE), ("put", f"{RULE}/{{rule}}"), ("patch", f"{RULE}/{{rule}}"),
    ("post", "/v1/users/{user}/alarms/{alarm}/shelve"),
    ("post", DASHBOARD), ("put", f"{DASHBOARD}/{{dashboard}}"), ("patch", f"{DASHBOARD}/{{dashboard}}"),
]


def _examples(client):
    """{(method, path): (the first request example's value, the operation)}, and the operations
    that take a body without one."""
    schema = json.loads(client.get("/api/schema/?format=json").content)
    examples, missing = {}, []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            if not body.get("examples"):
                missing.append((method, path))
                continue
            examples[method, path] = next(iter(body["examples"].values()))["value"], operation
    return examples, missing


def test_every_request_example_is_accepted_as_pasted(alice, api, receiver):
    user_client = api(alice)
    examples, missing = _examples(user_client)
    assert missing == [], "every write operation has a request example"
    assert sorted(examples) == sorted(ORDER), "place each operation with an example in ORDER"
    ids = {"user": "alice", "device": "sensor-1", "bucket": "b1", "endpoint": "e1", "property": "config",
           "rule": "too-hot", "dashboard": "home"}
    device_client = APIClient()  # with the callback token of the device the examples create
    for method, path in ORDER:
        value, operation = examples[method, path]
        if path == "/iot-flow/downlinkMessages/{secret}":
            # Only the devices attached to the application take its downlinks.
            attached = user_client.patch(DEVICE.format(**ids), {"applications": [ids["connection"]]}, format="json")
            assert attached.status_code == 200, attached.content
        if path.endswith("/shelve"):
            alarm = Alarm.objects.create(owner=alice, rule=Rule.objects.get(owner=alice, rule_id="too-hot"),
                                         device=Device.objects.get(owner=alice, device_id="sensor-1"),
                                         severity="high", value=35, activated=timezone.now())
            ids["alarm"] = str(alarm.pk)
        # The example's receiver stands for the user's: this one answers.
        body = json.dumps(value).replace("https://hooks.example.com", receiver.url)
        device_call = any("deviceToken" in scheme for scheme in operation.get("security", []))
        client = device_client if device_call else user_client
        response = client.generic(method.upper(), path.format(**ids), body, content_type="application/json")
        assert 200 <= response.status_code < 300, (method, path, response.content)
        if path == CONNECTION:
            ids["connection"] = response.json()["id"]
            ids["secret"] = response.json()["downlinkUrl"].rsplit("/", 1)[1]
        if path == "/v1/users/{user}/devices":
            device_client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
