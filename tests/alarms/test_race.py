"""Exactly one open alarm per rule and device, also when workers evaluate at the same moment:
the partial unique index decides, the loser's insert fails and it carries on with the winner's.
A parity suite: on SQLite (`make test`'s second pass) the workers take turns on its write lock."""
import pytest

from alarms.evaluation import rule_evaluate
from alarms.models import Alarm, AlarmEvent
from alarms.services import alarm_activate
from platform.clock import now_ms
from tests.alarms.conftest import make_rule
from tests.devices.test_concurrency import run_together

pytestmark = pytest.mark.parity


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("confirm", [{"type": "immediate"}, {"type": "sequence", "count": 1}])
def test_two_workers_evaluating_at_once_open_one_alarm(alice, device, confirm):
    rule = make_rule(alice, confirm=confirm)
    for round_ in range(8):
        ts = now_ms() + round_
        run_together(2, lambda i, ts=ts: rule_evaluate(rule=rule, device_pk=device.pk, values=[(ts + i, 40 + i)]))
        assert Alarm.objects.filter(rule=rule, state__in=Alarm.OPEN).count() == 1
        open_alarm = Alarm.objects.get(rule=rule, state__in=Alarm.OPEN)
        assert AlarmEvent.objects.filter(alarm=open_alarm, type="activate").count() == 1
        Alarm.objects.filter(pk=open_alarm.pk).update(state="cleared")


@pytest.mark.django_db(transaction=True)
def test_many_activations_at_once_leave_one_open_alarm(alice, device):
    rule = make_rule(alice)
    opened = []
    run_together(4, lambda i: opened.append(alarm_activate(rule=rule, device_pk=device.pk, value=i)))
    assert len([a for a in opened if a is not None]) == 1
    assert Alarm.objects.filter(rule=rule).count() == 1
