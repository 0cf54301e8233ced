"""The admin's alarm pages, for a superuser: the list and an alarm's change page with its events
inline (each linking the delivery or e-mail a notification queued)."""
from alarms.models import Alarm
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
