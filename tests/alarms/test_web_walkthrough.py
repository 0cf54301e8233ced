"""The Alarms pages, from a UI walkthrough: an action keeps the list's tab; the rule form says
all its errors in one round, in its own words, summed up at the top; empty pickers say what to
make first; labels and times read as words. (Layout on a phone: test_pages_ui.py.)"""
import re

import pytest

from alarms.forms import RuleForm
from alarms.models import Alarm, Rule
from endpoints.models import Endpoint
from tests.alarms.conftest import ingest, make_rule
from tests.web.conftest import hx

RULE = {"rule_id": "too-hot", "enabled": "on", "severity": "high", "source_type": "bucket", "field": "temperature",
        "op": "gt", "value": "30", "confirm_type": "immediate"}


@pytest.fixture
def alarms(alice, device):
    """An open alarm (humid) and a closed one (too-hot, normalized)."""
    make_rule(alice, name="Too hot")
    make_rule(alice, rule_id="humid", field="humidity", condition={"op": "gt", "value": 50})
    ingest(device, {"temperature": 41.5, "humidity": 80})
    ingest(device, {"temperature": 20, "humidity": 80})
    return Alarm.objects.get(rule__rule_id="humid")


def _errors_of(page, name):
    block = re.search(rf'<div class="field has-error[^"]*">(?:(?!<div class="field).)*?name="{name}"'
                      rf'(?:(?!<div class="field).)*', page, re.DOTALL)
    return block.group(0) if block else ""


@pytest.mark.parametrize("action", ["acknowledge", "clear"])
def test_an_action_on_the_all_tab_answers_the_all_tab(web, alarms, action):
    """Was: the rows came back as the open list (the POST carried no ?show=) under the "All" tab,
    and their poll then fetched ?show=open."""
    page = web.get("/alarms/?show=all").content.decode()
    assert f'action="/alarms/{alarms.pk}/{action}/?show=all"' in page
    assert f'hx-post="/alarms/{alarms.pk}/{action}/?show=all"' in page
    rows = web.post(f"/alarms/{alarms.pk}/{action}/?show=all", **hx("alarm-rows")).content.decode()
    assert "Too hot" in rows  # the normalized alarm is still listed
    assert 'hx-get="/alarms/?show=all"' in rows


def test_the_open_tab_stays_open_and_the_detail_page_posts_without_a_tab(web, alarms):
    assert f'action="/alarms/{alarms.pk}/clear/?show=open"' in web.get("/alarms/").content.decode()
    assert f'action="/alarms/{alarms.pk}/clear/"' in web.get(f"/alarms/{alarms.pk}/").content.decode()
    rows = web.post(f"/alarms/{alarms.pk}/acknowledge/", **hx("alarm-rows")).content.decode()
    assert 'hx-get="/alarms/?show=open"' in rows and "Too hot" not in rows


def test_without_javascript_an_action_redirects_to_the_same_tab(web, alarms):
    response = web.post(f"/alarms/{alarms.pk}/acknowledge/?show=all", {"next": "list"})
    assert response.status_code == 302 and response["Location"] == "/alarms/?show=all"
    response = web.post(f"/alarms/{alarms.pk}/clear/?show=open", {"next": "list"})
    assert response.status_code == 302 and response["Location"] == "/alarms/"


def test_one_submit_shows_the_forms_and_the_services_errors(web, alice, bucket):
    """Was two rounds: the form's own errors (the reminder), and only once they passed the
    service's (no bucket, no upper bound, a text compared as a number)."""
    make_rule(alice)
    response = web.post("/alarms/rules/+new/", {**RULE, "op": "between", "value": "20", "reminder_minutes": "0",
                                                "normalize_op": "gt", "normalize_value": "cool"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "You already have a rule" in _errors_of(page, "rule_id")
    assert "name one of your buckets" in _errors_of(page, "bucket")
    assert "Between needs an upper bound" in _errors_of(page, "max")
    assert "compares numbers" in _errors_of(page, "normalize_value")
    assert "greater than or equal to 1" in _errors_of(page, "reminder_minutes")
    summary = re.search(r'<div class="error-summary".*?</div>', page, re.DOTALL).group(0)
    assert "5 fields need fixing" in summary
    assert [a for a in re.findall(r'href="#([^"]+)"', summary)] == [
        "id_rule_id", "id_bucket", "id_max", "id_normalize_value", "id_reminder_minutes"]
    assert Rule.objects.count() == 1


def test_a_field_the_form_refused_gets_no_second_error_from_the_service(web, bucket):
    page = web.post("/alarms/rules/+new/", {**RULE, "bucket": bucket.pk, "value": "NaN"}).content.decode()
    errors = _errors_of(page, "value")
    assert "is not JSON" in errors and "needs a value" not in errors
    assert "1 field needs fixing" in page


def test_a_valid_form_has_no_summary(web, bucket):
    page = web.get("/alarms/rules/+new/").content.decode()
    assert "error-summary" not in page
    assert web.post("/alarms/rules/+new/", {**RULE, "bucket": bucket.pk}).status_code == 302


@pytest.mark.parametrize("fields, name, form_words", [
    ({"op": "between", "value": "20"}, "max", "Between needs an upper bound: type a number, e.g. 40"),
    ({"op": "outside", "value": "20", "max": "10"}, "max", "The upper bound must not be below the value (20)."),
    ({"normalize_op": "between", "normalize_value": "20"}, "normalize_max",
     "Between needs a normalize upper bound: type a number, e.g. 28."),
    ({"normalize_op": "between", "normalize_value": "20", "normalize_max": "5"}, "normalize_max",
     "The normalize upper bound must not be below the normalize value (20)."),
])
def test_upper_bound_errors_speak_the_forms_terms(web, bucket, fields, name, form_words):
    """The API's wording ('between' needs a numeric max, e.g. {"value": 20, "max": 30}) made no
    sense next to an input labelled "Upper bound"; the API keeps it (test_api.py)."""
    page = web.post("/alarms/rules/+new/", {**RULE, "bucket": bucket.pk, **fields}).content.decode()
    errors = _errors_of(page, name)
    assert form_words in errors, errors
    assert "numeric max" not in page and "&quot;max&quot;" not in page


def test_a_part_with_an_error_is_never_hidden(web, bucket):
    page = web.post("/alarms/rules/+new/", {**RULE, "bucket": bucket.pk, "op": "between"}).content.decode()
    assert '<div id="part-max">' in page  # no data-show-when: shown whatever the choices
    assert '<div id="part-normalize_max" data-show-when=' in page


def test_a_hidden_confirm_is_not_judged_for_a_silence_rule(web):
    """The page hides Confirm for status and silence rules but still sends its value; the
    service's error about it sat on an input nobody could see."""
    response = web.post("/alarms/rules/+new/", {**RULE, "source_type": "silence", "silence_minutes": "5",
                                                "confirm_type": "sequence", "confirm_count": "3"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Rule.objects.get().confirm == {"type": "immediate"}


def test_empty_pickers_say_what_to_make_first(web, alice):
    page = web.get("/alarms/rules/+new/").content.decode()
    assert 'id="make-first-bucket"' in page and 'href="/buckets/+new/"' in page
    assert 'id="make-first-devices"' in page and 'href="/devices/+new/"' in page
    assert 'id="make-first-endpoints"' in page and 'href="/endpoints/+new/"' in page


def test_pickers_with_something_to_pick_have_no_hint(web, alice, device):
    Endpoint.objects.create(owner=alice, endpoint_id="e1", url="https://example.com/hook")
    page = web.get("/alarms/rules/+new/").content.decode()
    assert "make-first" not in page


def test_condition_labels_name_the_op_once(alice):
    labels = dict(RuleForm(owner=alice).fields["op"].choices)
    assert labels["between"] == "between (inclusive)" and labels["present"] == "present"
    assert labels["gt"] == "greater than (gt)"


def test_a_new_alarm_reads_just_now(web, alarms, device):
    for path in ("/alarms/", f"/alarms/{alarms.pk}/", "/devices/d1/"):
        page = web.get(path).content.decode()
        assert "just now" in page and "0 minutes ago" not in page, path


def test_an_older_alarm_reads_its_age(web, alarms):
    from datetime import timedelta

    Alarm.objects.filter(pk=alarms.pk).update(activated=alarms.activated - timedelta(minutes=5))
    assert "5\xa0minutes ago" in web.get("/alarms/").content.decode()  # timesince's no-break space


def test_the_normalize_condition_is_shown_with_the_condition(web, alice, device):
    make_rule(alice, normalize={"op": "lt", "value": 25})
    ingest(device, {"temperature": 41.5})
    assert "normalizes when &lt; 25" in web.get("/alarms/rules/").content.decode()
    assert "normalizes when &lt; 25" in web.get(f"/alarms/{Alarm.objects.get().pk}/").content.decode()
