"""Status and silence rules, reminders and shelving: what the beat sweep and the connection
timeout sweep evaluate. A parity suite (`make test` runs it on PostgreSQL and on SQLite)."""
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alarms import services
from alarms.evaluation import alarms_sweep
from alarms.models import Alarm, AlarmEmail
from devices.models import Device
from devices.services import device_create, devices_sweep_timeouts
from tests.alarms.conftest import ingest, make_rule

pytestmark = pytest.mark.parity


def _disconnect_due(device):
    now = timezone.now()
    Device.objects.filter(pk=device.pk).update(connected=True, connected_ts=now - timedelta(minutes=20),
                                               last_seen=now - timedelta(minutes=11),
                                               disconnect_at=now - timedelta(minutes=1))


def test_status_rule_fires_when_the_timeout_sweep_disconnects_the_device(alice, device):
    rule = make_rule(alice, rule_id="offline", source_type="status", severity="critical")
    _disconnect_due(device)
    assert devices_sweep_timeouts() == 1
    alarm = Alarm.objects.get(rule=rule)
    assert (alarm.state, alarm.value, alarm.severity) == ("active", "disconnected", "critical")
    alarms_sweep()  # the backstop finds the alarm there already
    assert Alarm.objects.filter(rule=rule).count() == 1
    ingest(device, {"temperature": 20})  # a message from it: connected again
    alarm.refresh_from_db()
    assert alarm.state == "normalized"


def test_status_backstop_opens_the_alarm_when_the_announcement_was_lost(alice, device):
    rule = make_rule(alice, rule_id="offline", source_type="status")
    Device.objects.filter(pk=device.pk).update(connected=False, connected_ts=timezone.now())
    alarms_sweep()
    alarms_sweep()
    assert list(Alarm.objects.filter(rule=rule).values_list("state", flat=True)) == ["active"]
    Device.objects.filter(pk=device.pk).update(connected=True)
    alarms_sweep()
    assert list(Alarm.objects.filter(rule=rule).values_list("state", flat=True)) == ["normalized"]


def test_status_rule_ignores_devices_disconnected_before_it_existed(alice, device):
    Device.objects.filter(pk=device.pk).update(connected=False, connected_ts=timezone.now() - timedelta(days=1))
    rule = make_rule(alice, rule_id="offline", source_type="status")
    alarms_sweep()
    assert not Alarm.objects.filter(rule=rule).exists()


def _alarmed(rule):
    return list(Alarm.objects.filter(rule=rule).values_list("device__device_id", flat=True))


def test_status_rule_for_listed_devices_ignores_the_others(alice, device, bucket):
    other, _ = device_create(owner=alice, device_id="d2", write_bucket=bucket)
    rule = make_rule(alice, rule_id="offline", source_type="status", devices=[other])
    _disconnect_due(device)
    _disconnect_due(other)
    assert devices_sweep_timeouts() == 2
    assert _alarmed(rule) == ["d2"]
    alarms_sweep()  # nor does the backstop pick the unlisted device up
    assert _alarmed(rule) == ["d2"]


def test_status_backstop_for_listed_devices_ignores_the_others(alice, device, bucket):
    other, _ = device_create(owner=alice, device_id="d2", write_bucket=bucket)
    rule = make_rule(alice, rule_id="offline", source_type="status", devices=[other])
    Device.objects.filter(pk__in=[device.pk, other.pk]).update(connected=False, connected_ts=timezone.now())
    alarms_sweep()
    assert _alarmed(rule) == ["d2"]


def test_silence_rule_for_listed_devices_ignores_the_others(alice, device, bucket):
    other, _ = device_create(owner=alice, device_id="d2", write_bucket=bucket)
    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=5, devices=[other])
    Device.objects.filter(pk__in=[device.pk, other.pk]).update(last_seen=timezone.now() - timedelta(minutes=10))
    alarms_sweep()
    assert _alarmed(rule) == ["d2"]


def test_silence_rule_fires_once_per_silent_spell(alice, device):
    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=5)
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=4))
    alarms_sweep()
    assert not Alarm.objects.filter(rule=rule).exists()
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=6))
    alarms_sweep()
    alarms_sweep()
    alarm = Alarm.objects.get(rule=rule)
    assert alarm.state == "active" and alarm.value == 6
    services.alarm_clear(alarm=alarm)
    alarms_sweep()  # still the same silent spell: cleared stays cleared
    assert Alarm.objects.filter(rule=rule).count() == 1


def test_silence_alarm_normalizes_when_a_message_arrives(alice, device):
    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=5)
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=10))
    alarms_sweep()
    ingest(device, {"temperature": 20})
    assert Alarm.objects.get(rule=rule).state == "normalized"


def test_silence_normalizes_in_the_sweep_too(alice, device):
    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=5)
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=10))
    alarms_sweep()
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now())
    alarms_sweep()
    assert Alarm.objects.get(rule=rule).state == "normalized"


def test_a_device_that_never_spoke_is_silent_since_it_was_created(alice, device):
    Device.objects.filter(pk=device.pk).update(created=timezone.now() - timedelta(hours=1))
    rule = make_rule(alice, rule_id="quiet", source_type="silence", silence_minutes=30)
    alarms_sweep()
    assert Alarm.objects.get(rule=rule).value == 60


def _age(alarm, minutes):
    past = timezone.now() - timedelta(minutes=minutes)
    Alarm.objects.filter(pk=alarm.pk).update(activated=past, last_notified=past)


def test_reminders_repeat_while_active_and_stop_once_acknowledged(alice, device):
    rule = make_rule(alice, emails=["ops@example.com"], reminder_minutes=60)
    ingest(device, {"temperature": 40})
    alarm = Alarm.objects.get(rule=rule)
    assert services.alarms_remind() == 0  # not due yet
    _age(alarm, 61)
    assert services.alarms_remind() == 1
    assert services.alarms_remind() == 0  # the claim moved last_notified
    assert [e.type for e in alarm.events.all()].count("remind") == 1
    assert list(AlarmEmail.objects.filter(alarm=alarm).values_list("kind", flat=True).order_by("id")) == [
        "activate", "remind"]
    services.alarm_acknowledge(alarm=alarm)
    _age(alarm, 200)
    assert services.alarms_remind() == 0


def test_shelving_silences_notifications_until_the_time_is_up(alice, device):
    rule = make_rule(alice, emails=["ops@example.com"], reminder_minutes=1)
    ingest(device, {"temperature": 40})
    alarm = Alarm.objects.get(rule=rule)
    shelved = services.alarm_shelve(alarm=alarm, minutes=30)
    assert shelved.state == "shelved"
    _age(alarm, 10)
    assert services.alarms_remind() == 0
    # Time is up: it is active again, and reminders resume a reminder period later.
    Alarm.objects.filter(pk=alarm.pk).update(shelved_until=timezone.now() - timedelta(seconds=1))
    alarms_sweep()
    alarm.refresh_from_db()
    assert alarm.state == "active" and alarm.shelved_until is None
    assert [e.type for e in alarm.events.all()][-1] == "shelve"
    assert services.alarms_remind() == 0  # the period starts again when shelving ends
    Alarm.objects.filter(pk=alarm.pk).update(last_notified=timezone.now() - timedelta(minutes=2))
    assert services.alarms_remind() == 1
    assert [e.type for e in alarm.events.all()].count("remind") == 1  # none while shelved, this one after
    assert list(AlarmEmail.objects.filter(alarm=alarm).values_list("kind", flat=True).order_by("id")) == [
        "activate", "remind"]


def test_normalizing_while_shelved_sends_no_notification(alice, device):
    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 40})
    alarm = Alarm.objects.get(rule=rule)
    services.alarm_shelve(alarm=alarm, minutes=60)
    ingest(device, {"temperature": 20})
    alarm.refresh_from_db()
    assert alarm.state == "normalized"
    assert list(AlarmEmail.objects.filter(alarm=alarm).values_list("kind", flat=True)) == ["activate"]


def test_an_acknowledged_alarm_still_normalizes_and_says_so(alice, device):
    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 40})
    alarm = Alarm.objects.get(rule=rule)
    services.alarm_acknowledge(alarm=alarm)
    ingest(device, {"temperature": 20})
    assert sorted(AlarmEmail.objects.filter(alarm=alarm).values_list("kind", flat=True)) == ["activate", "normalize"]
    assert mail.outbox == []  # queued rows; the sender task sends them (test_notify.py)


def test_actions_refuse_what_the_state_does_not_allow(alice, device):
    import pytest

    rule = make_rule(alice)
    ingest(device, {"temperature": 40})
    alarm = Alarm.objects.get(rule=rule)
    services.alarm_clear(alarm=alarm)
    for act in (services.alarm_acknowledge, services.alarm_clear):
        with pytest.raises(services.AlarmActionError, match="cleared"):
            act(alarm=alarm)
    with pytest.raises(services.AlarmActionError):
        services.alarm_shelve(alarm=alarm, minutes=10)
