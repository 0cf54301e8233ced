"""The alarms API (docs/alarms.md): rules CRUD, alarms with filters, events and actions;
another user's rule or alarm is a 404."""
import pytest

from alarms.models import Alarm, Rule
from endpoints.models import Endpoint
from tests.alarms.conftest import ingest, make_rule

RULES = "/v1/users/alice/alarms/rules"
TOO_HOT = {"rule": "too-hot", "name": "Too hot", "severity": "critical",
           "source": {"type": "bucket", "bucket": "b1", "field": "temperature"},
           "devices": ["d1"], "condition": {"op": "gt", "value": 30},
           "confirm": {"type": "timespan", "seconds": 300}, "normalize": {"op": "lt", "value": 25},
           "latch": False, "notify": {"endpoints": ["e1"], "emails": ["ops@example.com"]},
           "reminder": {"minutes": 60}}


@pytest.fixture
def endpoint(alice):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url="http://127.0.0.1:9/hook")


def test_rule_crud_in_thingers_shape(api, alice, device, endpoint):
    client = api(alice)
    created = client.post(RULES, TOO_HOT, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    for key in ("rule", "name", "severity", "source", "devices", "confirm", "latch", "notify", "reminder"):
        assert body[key] == TOO_HOT[key], key
    assert body["condition"] == {"op": "gt", "value": 30} and body["normalize"] == {"op": "lt", "value": 25}
    assert client.get(RULES).json()[0]["rule"] == "too-hot"
    assert client.get(f"{RULES}/too-hot").json()["enabled"] is True

    patched = client.patch(f"{RULES}/too-hot", {"severity": "low", "source": {"field": "temp"}, "devices": None},
                           format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["severity"] == "low" and patched.json()["devices"] is None
    assert patched.json()["source"] == {"type": "bucket", "bucket": "b1", "field": "temp"}
    assert patched.json()["notify"]["endpoints"] == ["e1"]

    replaced = client.put(f"{RULES}/too-hot", {"source": {"type": "silence", "minutes": 5}}, format="json")
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["source"] == {"type": "silence", "minutes": 5}
    assert replaced.json()["condition"] is None and replaced.json()["notify"] == {"endpoints": [], "emails": []}

    assert client.delete(f"{RULES}/too-hot").status_code == 204
    assert client.get(f"{RULES}/too-hot").status_code == 404


def test_numbers_come_back_as_they_were_sent(api, alice, device, endpoint):
    rule = {**TOO_HOT, "condition": {"op": "between", "value": 20, "max": 40},
            "normalize": {"op": "outside", "value": 18.5, "max": 35}}
    body = api(alice).post(RULES, rule, format="json").json()
    assert body["condition"] == {"op": "between", "value": 20, "max": 40}
    assert body["normalize"] == {"op": "outside", "value": 18.5, "max": 35}
    # 40 == 40.0 in Python: the types tell whether it came back as the client sent it.
    assert [type(body[key][part]) for key in ("condition", "normalize") for part in ("value", "max")] == [
        int, int, float, int]


def test_eq_and_ne_compare_with_any_json_value_including_null(api, alice, device, endpoint):
    client = api(alice)
    created = client.post(RULES, {**TOO_HOT, "condition": {"op": "eq", "value": None}, "normalize": None},
                          format="json")
    assert created.status_code == 201, created.content
    assert created.json()["condition"] == {"op": "eq", "value": None}
    refused = client.post(RULES, {**TOO_HOT, "rule": "hot2", "condition": {"op": "gt", "value": None}}, format="json")
    assert refused.status_code == 400 and "compares numbers" in refused.json()["error"]["message"]


@pytest.mark.parametrize("change, message", [
    ({"source": {"type": "bucket", "bucket": "nope", "field": "t"}}, "no bucket 'nope'"),
    ({"source": {"type": "bucket"}}, "source.bucket"),
    ({"source": {"type": "property"}}, "source.property"),
    ({"source": {"type": "silence"}}, "source.minutes"),
    ({"condition": {"op": "gt", "value": "hot"}}, "compares numbers"),
    ({"condition": {"op": "between", "value": 30}}, "needs a numeric max"),
    ({"condition": None}, "condition"),
    ({"confirm": {"type": "sequence"}}, "confirm.count"),
    ({"devices": ["ghost"]}, "No such device: ghost"),
    ({"notify": {"endpoints": ["ghost"]}}, "ghost"),
    ({"notify": {"emails": ["not-an-address"]}}, "email"),
    ({"rule": "bad id!"}, "letters, digits"),
    ({"severity": "apocalyptic"}, "severity"),
    ({"source": {"type": "status"}, "confirm": {"type": "timespan", "seconds": 60}}, "confirm at once"),
    # Each of these was accepted, and the rule could never fire (an e-mail's recipient holds 254
    # characters; no property has a space in its name) or was stored as something else.
    ({"notify": {"emails": [f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com"]}}, "notify.emails"),
    ({"source": {"type": "property", "property": "bat tery"}}, "source.property: A property name"),
    ({"reminder": {"minutes": 2**40}}, "reminder.minutes"),
    ({"source": {"type": "silence", "minutes": 2**40}}, "source.minutes"),
    ({"rule": 123}, "rule: Use 1 to 64 letters"),
    ({"enabled": "yes"}, "enabled: Must be a valid boolean"),
    ({"latch": 1}, "latch: Must be a valid boolean"),
    ({"name": 5}, "name: Not a valid string"),
    ({"reminder": {"minutes": "5"}}, "reminder.minutes: A valid integer is required"),
])
def test_bad_rules_are_400_saying_what_to_fix(api, alice, device, endpoint, change, message):
    response = api(alice).post(RULES, {**TOO_HOT, **change}, format="json")
    assert response.status_code == 400
    assert message.lower() in response.json()["error"]["message"].lower(), response.json()


def test_the_longest_address_an_email_can_go_to_is_accepted_and_e_mailed(api, alice, device, endpoint):
    address = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.com"
    assert len(address) == 254
    created = api(alice).post(RULES, {**TOO_HOT, "confirm": {"type": "immediate"},
                                      "notify": {"emails": [address]}}, format="json")
    assert created.status_code == 201, created.content
    ingest(device, {"temperature": 41.5})
    assert Alarm.objects.get().emails.get().to == address


def test_an_update_that_is_not_an_object_is_400_and_changes_nothing(api, alice, device, endpoint):
    client = api(alice)
    modified = client.post(RULES, TOO_HOT, format="json").json()["modified"]
    for method in ("patch", "put"):
        response = getattr(client, method)(f"{RULES}/too-hot", [1], format="json")
        assert response.status_code == 400 and "JSON object" in response.json()["error"]["message"]
    assert client.get(f"{RULES}/too-hot").json()["modified"] == modified


def test_errors_name_the_apis_fields_each_with_a_list_of_messages(api, alice, device, endpoint):
    client = api(alice)
    error = client.post(RULES, {**TOO_HOT, "confirm": {"type": "sequence"}, "rule": "bad id!"},
                        format="json").json()["error"]
    assert set(error["fields"]) == {"rule"} and isinstance(error["fields"]["rule"], list)
    client.post(RULES, TOO_HOT, format="json")
    renamed = client.patch(f"{RULES}/too-hot", {"rule": "other"}, format="json").json()["error"]
    assert renamed["fields"] == {"rule": ["A rule's id cannot change."]}
    items = client.get("/v1/users/alice/alarms?items=x").json()["error"]
    assert items["fields"] == {"items": ["Use an integer from 1 to 1000."]}


@pytest.mark.parametrize("items", ["0", "-3", "1001", "5000", "x", "9" * 5000, "1.5"])
def test_alarm_list_items_outside_1_to_1000_is_400_as_for_bucket_data(api, alice, items):
    response = api(alice).get("/v1/users/alice/alarms", {"items": items})
    assert response.status_code == 400 and "items: Use an integer from 1 to 1000" in response.json()["error"]["message"]


def test_duplicate_rule_id_is_400(api, alice, device, endpoint):
    client = api(alice)
    assert client.post(RULES, TOO_HOT, format="json").status_code == 201
    assert "already have a rule" in client.post(RULES, TOO_HOT, format="json").json()["error"]["message"]


def test_another_users_bucket_device_or_endpoint_cannot_be_used(api, alice, bob, device, endpoint):
    from buckets.models import Bucket

    Bucket.objects.create(owner=bob, bucket_id="b1")
    response = api(bob).post("/v1/users/bob/alarms/rules", TOO_HOT, format="json")
    assert response.status_code == 400  # bob has no device d1 and no endpoint e1


def _alarm(alice, device):
    make_rule(alice)
    ingest(device, {"temperature": 41.5})
    return Alarm.objects.get()


def test_alarm_list_detail_and_filters(api, alice, device):
    alarm = _alarm(alice, device)
    client = api(alice)
    [listed] = client.get("/v1/users/alice/alarms").json()
    assert listed == {"id": str(alarm.pk), "rule": "too-hot", "device": "d1", "severity": "high", "state": "active",
                      "value": 41.5, "activated": listed["activated"], "acknowledged": None, "normalized": None,
                      "cleared": None, "shelved_until": None}
    assert isinstance(listed["activated"], int)
    for query, count in (("state=active", 1), ("state=cleared", 0), ("state=open", 1), ("severity=high", 1),
                         ("severity=low", 0), ("device=d1", 1), ("device=d9", 0), ("rule=too-hot", 1),
                         ("rule=other", 0)):
        assert len(client.get(f"/v1/users/alice/alarms?{query}").json()) == count, query
    assert client.get("/v1/users/alice/alarms?state=exploded").status_code == 400
    detail = client.get(f"/v1/users/alice/alarms/{alarm.pk}").json()
    assert [e["type"] for e in detail["events"]] == ["activate"]
    assert set(detail["events"][0]) == {"ts", "type", "detail"}


def test_acknowledge_shelve_clear(api, alice, device):
    alarm = _alarm(alice, device)
    client = api(alice)
    base = f"/v1/users/alice/alarms/{alarm.pk}"
    acked = client.post(f"{base}/acknowledge")
    assert acked.status_code == 200 and acked.json()["state"] == "acknowledged" and acked.json()["acknowledged"]
    shelved = client.post(f"{base}/shelve", {"minutes": 30}, format="json")
    assert shelved.json()["state"] == "shelved"
    assert 29 * 60_000 < shelved.json()["shelved_until"] - shelved.json()["acknowledged"] < 31 * 60_000 + 5000
    assert client.post(f"{base}/shelve", {"minutes": 0}, format="json").status_code == 400
    cleared = client.post(f"{base}/clear")
    assert cleared.json()["state"] == "cleared"
    assert [e["type"] for e in cleared.json()["events"]] == ["activate", "acknowledge", "shelve", "clear"]
    again = client.post(f"{base}/acknowledge")
    assert again.status_code == 400 and "cleared" in again.json()["error"]["message"]


def test_charlie_gets_404_for_everything_of_alice(api, alice, charlie, device):
    alarm = _alarm(alice, device)
    client = api(charlie)
    for method, path in (("get", "/v1/users/alice/alarms/rules"), ("get", "/v1/users/alice/alarms/rules/too-hot"),
                         ("delete", "/v1/users/alice/alarms/rules/too-hot"), ("get", "/v1/users/alice/alarms"),
                         ("get", f"/v1/users/alice/alarms/{alarm.pk}"),
                         ("post", f"/v1/users/alice/alarms/{alarm.pk}/acknowledge"),
                         ("post", f"/v1/users/alice/alarms/{alarm.pk}/clear"),
                         ("get", f"/v1/users/charlie/alarms/{alarm.pk}"),
                         ("post", f"/v1/users/charlie/alarms/{alarm.pk}/clear"),
                         ("get", "/v1/users/charlie/alarms/rules/too-hot")):
        assert getattr(client, method)(path).status_code == 404, (method, path)
    assert Rule.objects.filter(rule_id="too-hot").exists()
    assert Alarm.objects.get().state == "active"


def test_no_token_is_401(client):
    assert client.get("/v1/users/alice/alarms").status_code in (401, 403)


def test_no_credentials_says_how_to_send_them(client):
    response = client.get("/v1/users/alice/devices")
    assert response.status_code == 401
    assert "'Authorization: Bearer <token>'" in response.json()["error"]["message"]
    assert "Access tokens" in response.json()["error"]["message"]


def test_schema_documents_the_alarms_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/v1/users/{user}/alarms/rules", "/v1/users/{user}/alarms/rules/{rule}", "/v1/users/{user}/alarms",
                 "/v1/users/{user}/alarms/{alarm}", "/v1/users/{user}/alarms/{alarm}/acknowledge",
                 "/v1/users/{user}/alarms/{alarm}/shelve", "/v1/users/{user}/alarms/{alarm}/clear"):
        assert path in schema["paths"], path
    assert "events" in schema["components"]["schemas"]["AlarmDetailSchema"]["properties"]


def test_the_readmes_silence_rule(api, alice):
    response = api(alice).post(RULES, {"rule": "quiet", "source": {"type": "silence", "minutes": 5},
                                       "notify": {"emails": ["ops@example.com"]}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["devices"], body["confirm"], body["condition"], body["severity"]) == (
        {"type": "silence", "minutes": 5}, None, {"type": "immediate"}, None, "medium")


@pytest.mark.parametrize("change,path,message", [
    ({"source": {"type": "bucket", "bucket": "nope"}}, "source.bucket", "you have no bucket 'nope'."),
    ({"condition": {"op": "gt", "value": "hot"}}, "condition.value", "'gt' compares numbers; give a number, e.g. 30."),
    ({"confirm": {"type": "timespan", "seconds": 0}}, "confirm.seconds",
     "a whole number of seconds from 1 to 604800, e.g. 300."),
    ({"source": {"type": "silence"}, "confirm": {"type": "immediate"}, "condition": None, "normalize": None},
     "source.minutes", "a whole number of minutes without a message, 1 to 525600."),
    ({"reminder": {"minutes": 0}}, "reminder.minutes", "Ensure this value is greater than or equal to 1."),
    ({"notify": {"endpoints": ["ghost"]}}, "notify.endpoints", "No such endpoint: ghost."),
])
def test_a_nested_fields_error_is_filed_under_its_dotted_path_once(api, alice, device, endpoint, change, path, message):
    """docs/api.md: `fields` is keyed by the dotted path; the message names the path once (was
    "source: source.bucket: ..." under "source")."""
    error = api(alice).post(RULES, {**TOO_HOT, **change}, format="json").json()["error"]
    assert error["fields"] == {path: [message]}
    assert error["message"] == f"{path}: {message}"


NO_CONDITION = ("Status and silence rules have no condition: a status rule fires when the device disconnects, a "
                "silence rule after its minutes without a message; remove it (or send null).")
STATUS = {"rule": "offline", "source": {"type": "status"}}
QUIET = {"rule": "quiet", "source": {"type": "silence", "minutes": 5}}


@pytest.mark.parametrize("rule", [STATUS, QUIET], ids=["status", "silence"])
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_a_condition_on_a_status_or_silence_rule_is_400_not_dropped(api, alice, rule, method):
    """It was stored as null and answered 201: the client believed the condition in force."""
    client = api(alice)
    url = RULES
    if method != "post":
        assert client.post(RULES, rule, format="json").status_code == 201
        url = f"{RULES}/{rule['rule']}"
    sent = {**rule, "condition": {"op": "gt", "value": 30}, "normalize": {"op": "lt", "value": 25}}
    response = getattr(client, method)(url, sent, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["fields"]["condition"] == [NO_CONDITION]
    assert error["fields"]["normalize"] == [
        ("Status and silence rules have no normalize condition: a status alarm normalizes when the device connects "
         "again, a silence alarm when a message arrives; remove it (or send null).")]
    assert set(error["fields"]) == {"condition", "normalize"}
    assert not Rule.objects.filter(condition__isnull=False).exists()


@pytest.mark.parametrize("rule", [STATUS, QUIET], ids=["status", "silence"])
def test_a_null_or_absent_condition_on_a_status_or_silence_rule_is_fine(api, alice, rule):
    client = api(alice)
    assert client.post(RULES, rule, format="json").status_code == 201
    url = f"{RULES}/{rule['rule']}"
    for body in ({**rule, "condition": None, "normalize": None}, rule):
        replaced = client.put(url, body, format="json")
        assert replaced.status_code == 200, replaced.content
        assert (replaced.json()["condition"], replaced.json()["normalize"]) == (None, None)
    assert client.patch(url, {"condition": None}, format="json").status_code == 200


@pytest.mark.parametrize("rule", [
    TOO_HOT,
    {"rule": "flat", "source": {"type": "property", "property": "state", "field": "battery"},
     "condition": {"op": "lt", "value": 20}, "confirm": {"type": "sequence", "count": 3}},
    {**STATUS, "severity": "critical", "devices": ["d1"], "reminder": {"minutes": 30}},
    {**QUIET, "latch": True, "notify": {"endpoints": ["e1"], "emails": ["ops@example.com"]}},
], ids=["bucket", "property", "status", "silence"])
def test_a_rule_put_back_as_get_answers_it_is_accepted_unchanged(api, alice, device, endpoint, rule):
    """GET answers `"condition": null` (and no other type's source fields) for a status rule: a
    client that PUTs back what it got must not be refused for it."""
    client = api(alice)
    assert client.post(RULES, rule, format="json").status_code == 201
    url = f"{RULES}/{rule['rule']}"
    got = client.get(url).json()
    for method in ("put", "patch"):
        response = getattr(client, method)(url, got, format="json")
        assert response.status_code == 200, (method, response.content)
        assert {k: v for k, v in response.json().items() if k != "modified"} == {
            k: v for k, v in got.items() if k != "modified"}


@pytest.mark.parametrize("rule, source, path, message", [
    (TOO_HOT, {"minutes": 5}, "source.minutes",
     "a bucket rule counts no minutes without a message (silence rules do); remove it (or send null)."),
    (TOO_HOT, {"property": "battery"}, "source.property",
     "a bucket rule watches no property (property rules do); remove it (or send null)."),
    (STATUS, {"bucket": "b1"}, "source.bucket",
     "a status rule watches no bucket (bucket rules do); remove it (or send null)."),
    # Not "you have no bucket 'nope'": whichever bucket it names, a status rule has none.
    (STATUS, {"bucket": "nope"}, "source.bucket",
     "a status rule watches no bucket (bucket rules do); remove it (or send null)."),
    (STATUS, {"field": "temperature"}, "source.field",
     "a status rule tests no field (bucket and property rules do); remove it (or send null)."),
    (QUIET, {"property": "battery"}, "source.property",
     "a silence rule watches no property (property rules do); remove it (or send null)."),
    (QUIET, {"field": "temperature"}, "source.field",
     "a silence rule tests no field (bucket and property rules do); remove it (or send null)."),
    ({"rule": "flat", "source": {"type": "property", "property": "state"}, "condition": {"op": "absent"}},
     {"minutes": 5}, "source.minutes",
     "a property rule counts no minutes without a message (silence rules do); remove it (or send null)."),
], ids=["bucket-minutes", "bucket-property", "status-bucket", "status-unknown-bucket", "status-field",
        "silence-property", "silence-field", "property-minutes"])
def test_another_source_types_setting_is_400_naming_it(api, alice, device, endpoint, rule, source, path, message):
    """Each was dropped without a word: `source.minutes` on a bucket rule, `source.bucket` on a
    status rule."""
    body = {**rule, "source": {**rule["source"], **source}}
    response = api(alice).post(RULES, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["fields"] == {path: [message]}
    assert not Rule.objects.exists()


@pytest.mark.parametrize("rule, source", [
    (TOO_HOT, {"minutes": None, "property": None}), (TOO_HOT, {"property": ""}),
    (STATUS, {"bucket": None, "field": None, "property": None, "minutes": None}),
    (STATUS, {"field": "", "property": ""}), (QUIET, {"bucket": None, "field": ""}),
], ids=["bucket-nulls", "bucket-empty", "status-nulls", "status-empty", "silence"])
def test_another_source_types_setting_given_as_null_or_empty_is_fine(api, alice, device, endpoint, rule, source):
    response = api(alice).post(RULES, {**rule, "source": {**rule["source"], **source}}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["source"] == rule["source"]


def test_a_patch_into_a_status_rule_drops_the_condition_it_was_not_sent(api, alice, device, endpoint):
    """The bucket rule's condition, normalize and (timespan) confirm were merged into the change:
    a PATCH of the source alone was refused for settings the client never sent."""
    client = api(alice)
    client.post(RULES, TOO_HOT, format="json")
    changed = client.patch(f"{RULES}/too-hot", {"source": {"type": "status"}}, format="json")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["source"], body["condition"], body["normalize"], body["confirm"]) == (
        {"type": "status"}, None, None, {"type": "immediate"})
    assert body["severity"] == "critical" and body["notify"]["endpoints"] == ["e1"]  # the rest is merged
    sent = client.patch(f"{RULES}/too-hot", {"source": {"type": "silence", "minutes": 5},
                                             "condition": {"op": "gt", "value": 30}}, format="json")
    assert sent.status_code == 400 and sent.json()["error"]["fields"] == {"condition": [NO_CONDITION]}
    merged = client.patch(f"{RULES}/too-hot", {"source": {"bucket": "b1"}}, format="json")
    assert merged.status_code == 400 and set(merged.json()["error"]["fields"]) == {"source.bucket"}
    assert Rule.objects.get().source_type == "status"


def test_every_problem_of_a_condition_is_reported_under_its_own_path(api, alice, device, endpoint):
    """Only the first was: a client fixed `value`, sent it again, and only then heard about `max`."""
    response = api(alice).post(RULES, {**TOO_HOT, "condition": {"op": "between", "value": "x"},
                                       "normalize": {"op": "outside"}}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {
        "condition.value": ["'between' compares numbers; give a number, e.g. 30."],
        "condition.max": ["'between' needs a numeric max, e.g. {\"value\": 20, \"max\": 30}."],
        "normalize.value": ["'outside' needs a value to compare with."],
        "normalize.max": ["'outside' needs a numeric max, e.g. {\"value\": 20, \"max\": 30}."]}
    for path, [message] in error["fields"].items():
        assert f"{path}: {message}" in error["message"]


@pytest.mark.parametrize("condition, fields", [
    ({"op": "between", "value": 30, "max": 20}, {"condition.max": ["must not be below value (30)."]}),
    # Below a value that is not a number means nothing: only the value's own problem.
    ({"op": "between", "value": "30", "max": 20}, {"condition.value": [
        "'between' compares numbers; give a number, e.g. 30."]}),
    ({"op": "gt"}, {"condition.value": ["'gt' needs a value to compare with."]}),
    ({"op": "eq", "value": "on"}, None),
    # A setting the op does not read was dropped, the client believing it in force.
    ({"op": "gt", "value": 30, "max": 40}, {"condition.max": [
        "only between and outside take a max; remove it, or use one of those."]}),
    ({"op": "present", "value": 1}, {"condition.value": [
        "'present' only checks whether the field is there; it takes no value: remove it."]}),
    ({"op": "absent", "value": None}, None),
    ({"op": "eq", "value": None}, None),
])
def test_a_condition_reports_only_problems_that_do_not_follow_from_another(api, alice, device, endpoint,
                                                                          condition, fields):
    response = api(alice).post(RULES, {**TOO_HOT, "condition": condition}, format="json")
    if fields is None:
        assert response.status_code == 201, response.content
    else:
        assert response.json()["error"]["fields"] == fields
