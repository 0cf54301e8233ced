"""The admin's alarm pages, for a superuser: the list and an alarm's change page with its events
inline (each linking the delivery or e-mail a notification queued); a rule changed there goes
through the API's check (alarms/admin.py RuleAdminForm)."""
import pytest

from alarms.models import Alarm, RuleState
from buckets.models import Bucket
from devices.services import device_create
from tests.admin_forms import shown
from tests.alarms.conftest import ingest, make_rule


def test_admin_lists_alarms_and_shows_one_with_its_events(client, alice, device, django_user_model):
    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 41.5})
    alarm = Alarm.objects.get(rule=rule)
    assert {e.type for e in alarm.events.all()} >= {"activate", "notify"}
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1"))
    listing = client.get("/admin/alarms/alarm/")
    assert listing.status_code == 200
    assert f"/admin/alarms/alarm/{alarm.pk}/change/" in listing.content.decode()
    change = client.get(f"/admin/alarms/alarm/{alarm.pk}/change/")
    assert change.status_code == 200
    page = change.content.decode()
    assert "activate" in page and "ops@example.com" in page


@pytest.mark.parametrize("changes, field, message", [
    ({"condition": '"x"'}, "condition", "give an object such as"),
    ({"condition": '{"op": "zz"}'}, "condition", "condition.op: use one of"),
    ({"confirm": "[1]"}, "confirm", "confirm.type"),
    ({"emails": "[1, 2]"}, "emails", "1 is not an e-mail address"),
    ({"emails": '"ops@example.com"'}, "emails", "Give a list of e-mail addresses"),
    ({"bucket": ""}, "bucket", "name one of your buckets"),
    ({"reminder_minutes": "0"}, "reminder_minutes", "a whole number of minutes"),
])
def test_admin_refuses_a_rule_the_api_refuses(client, root, alice, bucket, changes, field, message):
    """Each was saved, then the rule pages answered 500 and every ingest batch's evaluation failed."""
    rule = make_rule(alice)
    response = client.post(f"/admin/alarms/rule/{rule.pk}/change/", {**shown(client, f"/admin/alarms/rule/{rule.pk}/change/"), **changes})
    assert response.status_code == 200
    assert any(message in error for error in response.context["adminform"].form.errors[field])
    rule.refresh_from_db()
    assert rule.condition == {"op": "gt", "value": 30} and rule.emails == [] and rule.bucket == bucket
    client.force_login(alice)
    assert client.get("/alarms/rules/").status_code == 200
    assert client.get(f"/alarms/rules/{rule.rule_id}/edit/").status_code == 200


def test_admin_refuses_another_users_bucket_and_saves_a_good_change(client, root, alice, bob, bucket):
    rule = make_rule(alice)
    RuleState.objects.create(rule=rule, device=device_create(owner=alice, device_id="d9")[0], count=2)
    bobs = Bucket.objects.create(owner=bob, bucket_id="b1")
    response = client.post(f"/admin/alarms/rule/{rule.pk}/change/", {**shown(client, f"/admin/alarms/rule/{rule.pk}/change/"), "bucket": bobs.pk})
    assert response.status_code == 200 and response.context["adminform"].form.errors["bucket"] == ["no such bucket."]
    response = client.post(f"/admin/alarms/rule/{rule.pk}/change/", {
        **shown(client, f"/admin/alarms/rule/{rule.pk}/change/"), "condition": '{"op": "lt", "value": 5}', "emails": '["ops@example.com"]'})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.condition["op"] == "lt" and rule.emails == ["ops@example.com"]
    assert not RuleState.objects.filter(rule=rule).exists()  # progress restarts, as through the API


def test_an_alarm_is_viewed_and_acted_on_in_the_admin_not_edited(root, alice, device):
    """A state or date set by hand skipped the alarm's events and notifications."""
    rule = make_rule(alice)
    ingest(device, {"temperature": 41.5})
    alarm = Alarm.objects.get(rule=rule)
    page = root.get(f"/admin/alarms/alarm/{alarm.pk}/change/")
    assert page.status_code == 200 and not page.context["adminform"].form.fields  # read-only
    assert root.post(f"/admin/alarms/alarm/{alarm.pk}/change/", {"state": "cleared"}).status_code == 403
    assert root.get("/admin/alarms/alarm/add/").status_code == 403
    for model in ("alarmemail", "rulestate"):
        assert root.get(f"/admin/alarms/{model}/add/").status_code == 403
    response = root.post("/admin/alarms/alarm/", {"action": "acknowledge", "_selected_action": [alarm.pk]},
                         follow=True)
    alarm.refresh_from_db()
    assert alarm.state == "acknowledged" and "1 alarm acknowledged." in response.content.decode()
    assert alarm.events.filter(type="acknowledge", detail="Acknowledged by root.").exists()
    again = root.post("/admin/alarms/alarm/", {"action": "acknowledge", "_selected_action": [alarm.pk]}, follow=True)
    assert "0 alarms acknowledged; 1 left as they were" in again.content.decode()
    root.post("/admin/alarms/alarm/", {"action": "clear", "_selected_action": [alarm.pk]})
    alarm.refresh_from_db()
    assert alarm.state == "cleared" and alarm.events.filter(type="clear").exists()
