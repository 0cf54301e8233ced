"""Bucket and property rules, evaluated where ingest announces what it stored: each condition,
each confirmation, normalization, latching, and the cost for devices without rules. A parity
suite (`make test` runs it on PostgreSQL and on SQLite: the rule states are saved differently)."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alarms import evaluation, services
from alarms.conditions import MISSING, holds
from alarms.models import Alarm, RuleState
from buckets.models import Bucket, Record
from devices.models import Device
from devices.services import device_create
from devices.signals import StoredMessage
from platform.clock import now_ms
from tests.alarms.conftest import ingest, make_rule

pytestmark = pytest.mark.parity


def states(rule):
    return list(Alarm.objects.filter(rule=rule).order_by("id").values_list("state", flat=True))


def test_above_threshold_opens_an_alarm_and_it_normalizes_when_the_value_drops(alice, device):
    rule = make_rule(alice)
    ingest(device, {"temperature": 25})
    assert states(rule) == []
    ingest(device, {"temperature": 35.5})
    alarm = Alarm.objects.get(rule=rule)
    assert (alarm.state, alarm.value, alarm.severity, alarm.device_id) == ("active", 35.5, "high", device.pk)
    assert [e.type for e in alarm.events.all()] == ["activate"]
    ingest(device, {"temperature": 36})  # still hot: the same alarm, nothing new
    assert states(rule) == ["active"]
    ingest(device, {"temperature": 20})
    assert states(rule) == ["normalized"]
    assert [e.type for e in Alarm.objects.get(rule=rule).events.all()] == ["activate", "normalize"]
    ingest(device, {"temperature": 40})  # a new activation opens a new alarm
    assert states(rule) == ["normalized", "active"]


CASES = [  # op, value, max, a value that matches, one that does not
    ("gt", 30, None, 30.5, 30),
    ("gte", 30, None, 30, 29.9),
    ("lt", 10, None, 9, 10),
    ("lte", 10, None, 10, 10.1),
    ("eq", "error", None, "error", "ok"),
    ("ne", "ok", None, "error", "ok"),
    ("between", 20, 30, 25, 31),
    ("outside", 20, 30, 31, 25),
    ("present", None, None, 1, MISSING),
    ("absent", None, None, MISSING, 1),
]


@pytest.mark.parametrize("op, value, high, match, miss", CASES, ids=[c[0] for c in CASES])
def test_each_condition_opens_and_normalizes(alice, device, op, value, high, match, miss):
    condition = {"op": op}
    if value is not None:
        condition["value"] = value
    if high is not None:
        condition["max"] = high
    rule = make_rule(alice, field="temperature", condition=condition)

    def body(v):
        return {"other": 1} if v is MISSING else {"temperature": v}

    ingest(device, body(miss))
    assert states(rule) == []
    ingest(device, body(match))
    assert states(rule) == ["active"]
    ingest(device, body(miss))
    assert states(rule) == ["normalized"]


def test_numeric_conditions_do_not_hold_for_text_or_booleans():
    assert not holds({"op": "gt", "value": 30}, "hot")
    assert not holds({"op": "gt", "value": 0}, True)
    assert not holds({"op": "lt", "value": 30}, MISSING)
    assert holds({"op": "eq", "value": True}, True)


def test_nested_field_paths(alice, device):
    rule = make_rule(alice, field="sensors.0.t", condition={"op": "gte", "value": 50})
    ingest(device, {"sensors": [{"t": 51}]})
    assert states(rule) == ["active"]


def test_sequence_needs_that_many_consecutive_matches(alice, device):
    rule = make_rule(alice, confirm={"type": "sequence", "count": 3})
    ingest(device, {"temperature": 31}, {"temperature": 32}, {"temperature": 20}, {"temperature": 33},
           {"temperature": 34})
    assert states(rule) == []  # the 20 broke the run: two in a row so far
    ingest(device, {"temperature": 35})
    assert states(rule) == ["active"]
    assert Alarm.objects.get(rule=rule).value == 35


def test_timespan_needs_the_condition_to_hold_that_long(alice, device):
    rule = make_rule(alice, confirm={"type": "timespan", "seconds": 120})
    t0 = now_ms() - 600_000
    ingest(device, {"temperature": 31, "ts": t0}, {"temperature": 32, "ts": t0 + 60_000})
    assert states(rule) == []
    ingest(device, {"temperature": 20, "ts": t0 + 90_000}, {"temperature": 33, "ts": t0 + 100_000})
    ingest(device, {"temperature": 34, "ts": t0 + 200_000})
    assert states(rule) == []  # the run restarted at +100 s: 100 s so far
    ingest(device, {"temperature": 35, "ts": t0 + 220_000})
    assert states(rule) == ["active"]


def test_timespan_opens_from_the_beat_sweep_when_the_device_says_nothing_more(alice, device):
    rule = make_rule(alice, confirm={"type": "timespan", "seconds": 120})
    ingest(device, {"temperature": 31, "ts": now_ms() - 60_000})
    evaluation.alarms_sweep()
    assert states(rule) == []
    RuleState.objects.filter(rule=rule).update(since_ts=now_ms() - 121_000)
    evaluation.alarms_sweep()
    assert states(rule) == ["active"]
    assert Alarm.objects.get(rule=rule).value == 31
    assert RuleState.objects.get(rule=rule).since_ts is None


def test_older_values_than_the_newest_evaluated_are_skipped(alice, device):
    rule = make_rule(alice, confirm={"type": "sequence", "count": 2})
    t0 = now_ms()
    ingest(device, {"temperature": 31, "ts": t0})
    ingest(device, {"temperature": 32, "ts": t0 - 60_000})  # a late, older record: not a second match
    assert states(rule) == []


def test_a_late_older_value_does_not_normalize_an_open_alarm(alice, device):
    rule = make_rule(alice)  # immediate: no confirmation row to remember the newest value
    t0 = now_ms()
    ingest(device, {"temperature": 35, "ts": t0})
    ingest(device, {"temperature": 20, "ts": t0 - 60_000})  # measured before the 35: old news
    assert states(rule) == ["active"]


def test_a_late_older_value_does_not_reopen_a_normalized_alarm(alice, device):
    rule = make_rule(alice)
    t0 = now_ms() - 600_000
    ingest(device, {"temperature": 35, "ts": t0}, {"temperature": 20, "ts": t0 + 60_000})
    assert states(rule) == ["normalized"]
    ingest(device, {"temperature": 40, "ts": t0 + 30_000})  # older than the value that normalized it
    assert states(rule) == ["normalized"]
    ingest(device, {"temperature": 41, "ts": t0 + 90_000})  # newer: a new alarm
    assert states(rule) == ["normalized", "active"]


def test_a_late_value_older_than_one_that_kept_the_alarm_open_is_skipped(alice, device):
    rule = make_rule(alice, confirm={"type": "sequence", "count": 2})
    t0 = now_ms() - 600_000
    ingest(device, {"temperature": 31, "ts": t0}, {"temperature": 32, "ts": t0 + 1})
    ingest(device, {"temperature": 33, "ts": t0 + 60_000})
    ingest(device, {"temperature": 20, "ts": t0 + 30_000})  # between the activation and the 33
    assert states(rule) == ["active"]


def test_normalize_condition_gives_hysteresis(alice, device):
    rule = make_rule(alice, normalize={"op": "lt", "value": 25})
    ingest(device, {"temperature": 35})
    ingest(device, {"temperature": 28})
    assert states(rule) == ["active"]
    ingest(device, {"temperature": 24})
    assert states(rule) == ["normalized"]


def test_a_latched_alarm_stays_open_until_cleared(alice, device):
    rule = make_rule(alice, latch=True)
    ingest(device, {"temperature": 35})
    ingest(device, {"temperature": 20})
    assert states(rule) == ["active"]
    services.alarm_clear(alarm=Alarm.objects.get(rule=rule))
    ingest(device, {"temperature": 36})
    assert states(rule) == ["cleared", "active"]


def test_property_rule_evaluates_each_change(alice, device):
    Device.objects.filter(pk=device.pk).update(set_property="state")
    rule = make_rule(alice, source_type="property", property="state", field="battery",
                     condition={"op": "lt", "value": 20})
    ingest(device, {"battery": 80})
    assert states(rule) == []
    ingest(device, {"battery": 15})
    assert states(rule) == ["active"]
    assert Alarm.objects.get(rule=rule).value == 15


def test_a_rule_for_listed_devices_ignores_the_others(alice, device, bucket):
    other, _ = device_create(owner=alice, device_id="d2", write_bucket=bucket)
    rule = make_rule(alice, devices=[other])
    ingest(device, {"temperature": 50})
    assert states(rule) == []
    Device.objects.filter(pk=other.pk).update()
    ingest(other, {"temperature": 50})
    assert list(Alarm.objects.filter(rule=rule).values_list("device__device_id", flat=True)) == ["d2"]


def test_a_rule_on_another_bucket_is_not_evaluated(alice, device):
    other = Bucket.objects.create(owner=alice, bucket_id="b2")
    rule = make_rule(alice, bucket=other)
    ingest(device, {"temperature": 50})
    assert states(rule) == []


def test_a_disabled_rule_opens_nothing(alice, device):
    rule = make_rule(alice, enabled=False)
    ingest(device, {"temperature": 50})
    assert states(rule) == []


def test_a_new_rule_is_seen_by_the_next_batch(alice, device):
    ingest(device, {"temperature": 50})  # the watch map is cached without rules
    rule = make_rule(alice)
    ingest(device, {"temperature": 51})
    assert states(rule) == ["active"]


def _messages(device, n):
    return [StoredMessage(device_pk=device.pk, device_id=device.device_id, owner_id=device.owner_id,
                          message_id=i, ts=now_ms(), records=((device.write_bucket_id, now_ms(), {"temperature": 99}),),
                          properties=()) for i in range(n)]


def test_a_batch_from_devices_without_rules_costs_no_query(alice, bob, device, settings):
    if not settings.CACHE_SHARED:
        pytest.skip("the watch map is cached only in a shared cache (Redis)")
    bobs = Bucket.objects.create(owner=bob, bucket_id="b1")
    make_rule(bob)  # someone has rules, just not alice
    evaluation.messages_evaluate(_messages(device, 1))  # warms the cache
    with CaptureQueriesContext(connection) as queries:
        assert evaluation.messages_evaluate(_messages(device, 500)) == 0
    assert len(queries) == 0
    assert bobs.pk


def test_a_batch_with_rules_costs_a_few_queries_per_rule_and_device_not_per_message(alice, device, settings):
    make_rule(alice)
    evaluation.messages_evaluate(_messages(device, 1))
    with CaptureQueriesContext(connection) as queries:
        evaluation.messages_evaluate(_messages(device, 200))
    assert len(queries) <= 6, [q["sql"] for q in queries]


def test_a_failing_evaluation_never_breaks_ingest(alice, device, monkeypatch):
    make_rule(alice)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(evaluation, "rule_evaluate", broken)
    monkeypatch.setattr(evaluation, "watch_map", lambda: (_ for _ in ()).throw(RuntimeError("cache down")))
    assert ingest(device, {"temperature": 50}) == 1
    assert Record.objects.filter(bucket=device.write_bucket).count() == 1
