"""The Alarms pages: the list (open first, live part), actions with toasts, the history page,
the badge, rule forms, and the device page's open alarms. charlie gets 404s."""
import pytest

from alarms.forms import RuleForm
from alarms.models import Alarm, Rule
from buckets.models import Bucket
from tests.alarms.conftest import ingest, make_rule
from tests.web.conftest import hx


@pytest.fixture
def alarm(alice, device):
    make_rule(alice, name="Too hot")
    ingest(device, {"temperature": 41.5})
    return Alarm.objects.get()


def test_list_shows_open_alarms_first_with_what_a_person_needs(web, alice, device, alarm):
    make_rule(alice, rule_id="warm", severity="low", condition={"op": "gt", "value": 10})
    ingest(device, {"temperature": 20})  # too-hot normalizes, warm opens
    page = web.get("/alarms/?show=all").content.decode()
    assert page.index("warm") < page.index("Too hot")  # the open one first
    # A second-old alarm reads "just now" (was "0 minutes ago"); older ones "N minutes ago".
    assert "normalized" in page and "41.5" in page and "just now" in page and "sev low" in page
    rows = web.get("/alarms/", **hx("alarm-rows")).content.decode()
    assert rows.lstrip().startswith('<section class="card" id="alarm-rows"') and "<html" not in rows
    assert "warm" in rows and "Too hot" not in rows  # the default view: open alarms only


def test_acknowledge_from_the_list_swaps_the_rows_and_toasts(web, alarm):
    response = web.post(f"/alarms/{alarm.pk}/acknowledge/", **hx("alarm-rows"))
    body = response.content.decode()
    assert response.status_code == 200 and 'id="alarm-rows"' in body
    assert 'hx-swap-oob="true"' in body and "Alarm too-hot on d1 acknowledged." in body
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged"


def test_shelve_and_clear_without_javascript_redirect_back(web, alarm):
    response = web.post(f"/alarms/{alarm.pk}/shelve/", {"minutes": "15", "next": "detail"})
    assert response.status_code == 302 and response["Location"] == f"/alarms/{alarm.pk}/"
    alarm.refresh_from_db()
    assert alarm.state == "shelved"
    response = web.post(f"/alarms/{alarm.pk}/clear/")
    assert response.status_code == 302 and response["Location"] == "/alarms/"
    assert Alarm.objects.get().state == "cleared"
    page = web.get(f"/alarms/{alarm.pk}/").content.decode()
    for event in ("activate", "shelve", "clear"):
        assert f'<span class="badge">{event}</span>' in page


def test_an_action_the_state_refuses_is_a_warning_toast(web, alarm):
    web.post(f"/alarms/{alarm.pk}/clear/")
    body = web.post(f"/alarms/{alarm.pk}/acknowledge/", **hx("alarm-card")).content.decode()
    assert "cannot be acknowledged" in body and 'id="alarm-card"' in body


def test_history_page_shows_events_and_notifications(web, alice, device):
    make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 41.5})
    alarm = Alarm.objects.get()
    page = web.get(f"/alarms/{alarm.pk}/").content.decode()
    assert "e-mail to ops@example.com queued" in page and "pending" in page
    assert web.get(f"/alarms/{alarm.pk}/", **hx("alarm-card")).content.decode().lstrip().startswith(
        '<div id="alarm-card"')


def test_navigation_badge_counts_active_alarms(web, alarm):
    assert '<span id="alarm-badge" class="nav-badge" title="1 active alarm"' in web.get("/devices/").content.decode()
    web.post(f"/alarms/{alarm.pk}/acknowledge/")
    assert ">1</span>" not in web.get("/alarms/badge/").content.decode()


def test_device_page_lists_its_open_alarms(web, alarm):
    page = web.get("/devices/d1/").content.decode()
    assert 'id="device-alarms"' in page and f"/alarms/{alarm.pk}/" in page


def test_create_a_rule_from_the_form(web, alice, device, bucket):
    form = web.get("/alarms/rules/+new/").content.decode()
    for text in ("e.g. too-hot", "e.g. temperature", "e.g. 120", "{{alarm.rule}}", 'data-show-when="source_type:silence"'):
        assert text in form, text
    response = web.post("/alarms/rules/+new/", {
        "rule_id": "too-hot", "name": "Too hot", "enabled": "on", "severity": "high", "source_type": "bucket",
        "bucket": bucket.pk, "field": "temperature", "op": "gt", "value": "30", "confirm_type": "timespan",
        "confirm_seconds": "120", "emails": "ops@example.com, me@example.com", "reminder_minutes": "60"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    rule = Rule.objects.get(rule_id="too-hot")
    assert rule.condition == {"op": "gt", "value": 30} and rule.confirm == {"type": "timespan", "seconds": 120}
    assert rule.emails == ["ops@example.com", "me@example.com"] and rule.all_devices and rule.reminder_minutes == 60
    listing = web.get("/alarms/rules/").content.decode()
    assert "b1.temperature" in listing and "for 2 min" in listing


def test_a_whole_upper_bound_from_the_form_stays_whole(web, bucket):
    response = web.post("/alarms/rules/+new/", {
        "rule_id": "comfy", "enabled": "on", "severity": "low", "source_type": "bucket", "bucket": bucket.pk,
        "field": "temperature", "op": "outside", "value": "20", "max": "40", "confirm_type": "immediate",
        "normalize_op": "between", "normalize_value": "21", "normalize_max": "39.5"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    rule = Rule.objects.get(rule_id="comfy")
    assert rule.condition == {"op": "outside", "value": 20, "max": 40}
    assert (type(rule.condition["max"]), rule.normalize["max"]) == (int, 39.5)  # as the API answers it


def test_every_rule_form_field_is_explained_with_an_example(alice):
    vague = [name for name, field in RuleForm(owner=alice).fields.items() if "e.g." not in str(field.help_text)]
    assert vague == []


def test_form_errors_say_what_to_fix(web, bucket):
    response = web.post("/alarms/rules/+new/", {"rule_id": "x", "severity": "high", "source_type": "bucket",
                                                "field": "t", "op": "gt", "value": "hot",
                                                "confirm_type": "sequence"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "name one of your buckets" in page


@pytest.mark.parametrize("field, typed, message", [
    ("value", "NaN", "is not JSON: send numbers only"), ("value", "Infinity", "is not JSON: send numbers only"),
    ("value", "1e999", "Number out of range"), ("normalize_value", "NaN", "is not JSON: send numbers only"),
    ("value", "NaN", "To mean the text, type it in double quotes: &quot;NaN&quot;"),
    ("value", '"a\\u0000b"', "NUL character"), ("value", '{"a": "\\u0000"}', "NUL character"),
    ("value", '"\\ud800"', "Unpaired UTF-16 surrogate"), ("value", "[" * 2000, "nested more than 64 levels deep"),
])
def test_a_value_a_rule_cannot_hold_is_a_form_error(web, bucket, field, typed, message):
    # Each was a 500: the form parsed with plain json.loads (NaN, inf), and the database or the
    # parser's recursion refused the rest.
    fields = {"rule_id": "f1", "severity": "medium", "source_type": "bucket", "bucket": bucket.pk,
              "field": "temperature", "op": "eq", "value": "1", "confirm_type": "immediate",
              "normalize_op": "eq", "normalize_value": "0"}
    response = web.post("/alarms/rules/+new/", {**fields, field: typed})
    assert response.status_code == 400 and message in response.content.decode(), response.content.decode()[-2000:]
    assert not Rule.objects.exists()


def test_text_that_is_not_json_stays_a_text_value(web, bucket):
    response = web.post("/alarms/rules/+new/", {
        "rule_id": "door", "severity": "low", "source_type": "bucket", "bucket": bucket.pk, "field": "door",
        "op": "eq", "value": "open", "confirm_type": "immediate"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Rule.objects.get().condition == {"op": "eq", "value": "open"}


def test_edit_and_delete_a_rule(web, alice, device):
    make_rule(alice, devices=[device])
    form = web.get("/alarms/rules/too-hot/edit/").content.decode()
    assert 'value="30"' in form
    response = web.post("/alarms/rules/too-hot/edit/", {
        "name": "Hot", "enabled": "on", "severity": "low", "source_type": "silence", "silence_minutes": "5",
        "op": "gt", "confirm_type": "immediate"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    rule = Rule.objects.get()
    assert (rule.source_type, rule.silence_minutes, rule.condition, rule.bucket) == ("silence", 5, None, None)
    assert web.post("/alarms/rules/too-hot/delete/").status_code == 302
    assert not Rule.objects.exists()


def test_charlie_gets_404(client, charlie, alarm):
    client.force_login(charlie)
    for path in (f"/alarms/{alarm.pk}/", "/alarms/rules/too-hot/edit/"):
        assert client.get(path).status_code == 404, path
    for path in (f"/alarms/{alarm.pk}/acknowledge/", f"/alarms/{alarm.pk}/clear/", "/alarms/rules/too-hot/delete/"):
        assert client.post(path).status_code == 404, path
    assert "Too hot" not in client.get("/alarms/?show=all").content.decode()
    alarm.refresh_from_db()
    assert alarm.state == "active" and Rule.objects.exists()


def test_pages_need_a_sign_in(client, alarm):
    assert client.get("/alarms/").status_code == 302
    assert client.post(f"/alarms/{alarm.pk}/clear/").status_code == 302
    assert Bucket.objects.exists()


def test_a_form_error_shows_under_its_own_input_without_the_apis_path(web, bucket):
    """The service files errors under the API's dotted paths; the form puts each one next to the
    input it is about (was under the section's first input, with "source.bucket: " in front)."""
    import re

    page = web.post("/alarms/rules/+new/", {"rule_id": "x", "severity": "high", "source_type": "bucket",
                                             "field": "t", "op": "gt", "value": "hot", "confirm_type": "sequence",
                                             "confirm_count": "3"}).content.decode()

    def errors_of(name):
        block = re.search(rf'<div class="field has-error[^"]*">(?:(?!<div class="field).)*?name="{name}"'
                          rf'(?:(?!<div class="field).)*', page, re.DOTALL)
        return block.group(0) if block else ""

    assert "name one of your buckets" in errors_of("bucket") and "source.bucket:" not in page
    assert "compares numbers" in errors_of("value") and "condition.value:" not in page


@pytest.mark.parametrize("target", ["alarm-rows", "alarm-card"])
def test_an_action_updates_the_navigation_badge_at_once(web, alarm, target):
    """The badge showed the old count until its 10 s poll after an acknowledge or a clear."""
    body = web.post(f"/alarms/{alarm.pk}/acknowledge/", **hx(target)).content.decode()
    assert '<span id="alarm-badge" class="nav-badge" title="0 active alarms"' in body
    assert 'hx-swap="outerHTML" hx-swap-oob="true"></span>' in body


def test_an_endpoints_call_log_marks_alarm_notifications(web, alice, device):
    """An alarm's call to an endpoint was listed as the device's message, indistinguishable."""
    from endpoints.models import Attempt, Delivery, Endpoint

    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="hook", url="https://example.com/hook")
    for message_id, payload in ((None, {"alarm": {"rule": "too-hot", "event": "activate"}}), (7, {"t": 1})):
        delivery = Delivery.objects.create(owner=alice, endpoint=endpoint, message_id=message_id, device_id="d1",
                                           payload=payload, ts=1, state=Delivery.DELIVERED)
        Attempt.objects.create(delivery=delivery, url=endpoint.url, status_code=200)
    page = web.get("/endpoints/hook/").content.decode()
    assert page.count('title="An alarm notification, not a device message">alarm</span>') == 1
    assert "too-hot · activate" in page


def test_a_silence_alarms_value_says_what_it_counts(web, alice, device):
    """A silence alarm's value is its minutes: the pages showed a bare 5."""
    from alarms import services

    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=5, condition=None)
    alarm = services.alarm_activate(rule=rule, device_pk=device.pk, value=5)
    for url in ("/alarms/", f"/alarms/{alarm.pk}/", "/devices/d1/"):
        assert "5 min without a message" in web.get(url).content.decode(), url


BUCKET_RULE_FILLED_IN = {"name": "Too hot", "enabled": "on", "severity": "high", "source_type": "bucket",
                         "field": "temperature", "silence_minutes": "", "property": "battery", "op": "between",
                         "value": "20", "max": "40", "confirm_type": "timespan", "confirm_seconds": "120",
                         "normalize_op": "lt", "normalize_value": "25", "reminder_minutes": "60"}


@pytest.mark.parametrize("source_type, extra", [("status", {}), ("silence", {"silence_minutes": "5"})])
def test_a_bucket_rule_filled_in_then_switched_to_status_or_silence_saves(web, bucket, source_type, extra):
    """The page hides the bucket, field, condition, confirm and normalize inputs once the source
    is status or silence, and the browser still sends what they hold: the form ignores them (the
    service refuses a condition on such a rule, and the person cannot see these inputs)."""
    response = web.post("/alarms/rules/+new/", {**BUCKET_RULE_FILLED_IN, "rule_id": "offline", "bucket": bucket.pk,
                                                "source_type": source_type, **extra})
    assert response.status_code == 302, response.content.decode()[-3000:]
    rule = Rule.objects.get()
    assert (rule.source_type, rule.bucket, rule.field, rule.property, rule.condition, rule.normalize,
            rule.confirm) == (source_type, None, "", "", None, None, {"type": "immediate"})
    assert (rule.name, rule.severity, rule.reminder_minutes) == ("Too hot", "high", 60)  # the shown ones count
    assert rule.silence_minutes == (5 if source_type == "silence" else None)


def test_editing_a_bucket_rule_into_a_status_rule_saves(web, alice, device):
    make_rule(alice, normalize={"op": "lt", "value": 25}, confirm={"type": "sequence", "count": 3})
    fields = {**RuleForm.initial_for(Rule.objects.get()), "source_type": "status"}
    posted = {name: ("" if value is None else value.pk if hasattr(value, "pk") else value)
              for name, value in fields.items() if name not in ("devices", "endpoints", "emails")}
    response = web.post("/alarms/rules/too-hot/edit/", {**posted, "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    rule = Rule.objects.get()
    assert (rule.source_type, rule.bucket, rule.condition, rule.normalize, rule.confirm) == (
        "status", None, None, None, {"type": "immediate"})


def test_what_a_hidden_input_holds_is_never_an_error(web):
    """A value the rule could not hold, a number out of bounds: on inputs the status rule hides,
    they were errors next to inputs the person could not see."""
    response = web.post("/alarms/rules/+new/", {
        "rule_id": "offline", "severity": "high", "source_type": "status", "silence_minutes": "0", "op": "between",
        "value": "NaN", "max": "x", "confirm_type": "sequence", "confirm_count": "0", "normalize_op": "nope",
        "normalize_value": "NaN"})
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Rule.objects.get().condition is None


def test_a_shown_inputs_error_still_counts(web, bucket):
    response = web.post("/alarms/rules/+new/", {**BUCKET_RULE_FILLED_IN, "rule_id": "r1", "bucket": bucket.pk,
                                                "source_type": "silence", "silence_minutes": "0"})
    assert response.status_code == 400 and "greater than or equal to 1" in response.content.decode()
    assert not Rule.objects.exists()


def test_every_problem_of_a_condition_shows_next_to_its_own_input(web, bucket):
    """The service reported a condition's first problem only: the upper bound's showed after the
    value was fixed, a second round."""
    import re

    page = web.post("/alarms/rules/+new/", {
        "rule_id": "r1", "severity": "high", "source_type": "bucket", "bucket": bucket.pk, "field": "t",
        "op": "between", "value": "hot", "confirm_type": "immediate", "normalize_op": "outside"}).content.decode()

    def errors_of(name):
        block = re.search(rf'<div class="field has-error[^"]*">(?:(?!<div class="field).)*?name="{name}"'
                          rf'(?:(?!<div class="field).)*', page, re.DOTALL)
        return block.group(0) if block else ""

    assert "&#x27;between&#x27; compares numbers" in errors_of("value")
    assert "Between needs an upper bound: type a number" in errors_of("max")
    assert "&#x27;outside&#x27; needs a value to compare with" in errors_of("normalize_value")
    assert "Outside needs a normalize upper bound" in errors_of("normalize_max")
    assert "4 fields need fixing" in page and "numeric max" not in page
    assert not Rule.objects.exists()
