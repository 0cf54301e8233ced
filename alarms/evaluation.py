"""Evaluation where the data flows: records and properties as ingest announces them, status as
the timeout sweep announces it, silence, timespans, reminders and shelving in the beat sweep.

Cost: a batch whose owners, buckets and properties no enabled rule watches costs one cache read
(alarms/watch.py). A batch with watched data costs a few queries whatever its size: the rules,
each pair's newest alarm, the confirmation rows (locked, so two workers cannot both count a
match) and their update, the newest value's time on open alarms; only an activation or a
normalization writes more (tests/perf/bench_alarms.py)."""
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, Max, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from alarms import services
from alarms.conditions import MISSING, field_value, holds
from alarms.models import Alarm, Rule, RuleState
from alarms.watch import watch_map
from devices.models import Device
from devices.signals import StatusChanged, StoredMessage
from platform import backends
from platform.clock import ms

logger = logging.getLogger(__name__)

# A series of values fed to a rule for one device: [(ts ms, value or MISSING), ...].
Series = list[tuple[int, Any]]


def _rules_by_owner(owner_ids: Iterable[int], kinds: Sequence[str]) -> dict[int, list[Rule]]:
    rules: dict[int, list[Rule]] = defaultdict(list)
    for rule in (Rule.objects.filter(owner_id__in=owner_ids, enabled=True, source_type__in=kinds)
                 .select_related("bucket").prefetch_related("devices")):
        # Read by _applies for every value; set on the instance, which the model does not declare.
        rule.device_pks = None if rule.all_devices else {d.pk for d in rule.devices.all()}  # type: ignore[attr-defined]
        rules[rule.owner_id].append(rule)
    return rules


def _applies(rule: Rule, device_pk: int) -> bool:
    return rule.device_pks is None or device_pk in rule.device_pks  # type: ignore[attr-defined]  # see _rules_by_owner


def messages_evaluate(messages: Sequence[StoredMessage]) -> int:
    """Evaluates the bucket and property rules against a committed ingest batch (StoredMessage
    values, in message order); a message from a device with an open status or silence alarm
    normalizes it. Returns how many (rule, device) pairs were evaluated."""
    watched = watch_map()
    if not watched:
        return 0
    relevant: list[StoredMessage] = []
    heard_from: set[int] = set()
    for m in messages:
        entry = watched.get(m.owner_id)
        if entry is None:
            continue
        if entry["s"]:
            heard_from.add(m.device_pk)
        if any(b in entry["b"] for b, _, _ in m.records) or any(p in entry["p"] for p, _ in m.properties):
            relevant.append(m)
    if heard_from:
        _normalize_heard(heard_from)
    if not relevant:
        return 0
    rules = _rules_by_owner({m.owner_id for m in relevant}, (Rule.BUCKET, Rule.PROPERTY))
    values: dict[tuple[Rule, int], Series] = defaultdict(list)
    for m in relevant:
        for rule in rules.get(m.owner_id, ()):
            if not _applies(rule, m.device_pk):
                continue
            if rule.source_type == Rule.BUCKET:
                values[(rule, m.device_pk)].extend((ts, field_value(val, rule.field))
                                                   for bucket_pk, ts, val in m.records if bucket_pk == rule.bucket_id)
            else:
                values[(rule, m.device_pk)].extend((m.ts, field_value(value, rule.field))
                                                   for name, value in m.properties if name == rule.property)
    return pairs_evaluate({pair: series for pair, series in values.items() if series})


def _stateful(rule: Rule) -> bool:
    return (rule.confirm or {}).get("type", "immediate") != "immediate"


def pairs_evaluate(values: dict[tuple[Rule, int], Series]) -> int:
    """Feeds new values to rules, per device: {(rule, device pk): [(ts ms, value or MISSING), ...]}.
    Opens an alarm once a condition is confirmed, normalizes an open one when its condition stops
    holding (or its normalize condition holds) unless the rule latches. Atomic, and a handful of
    queries whatever the number of pairs: the confirmation rows in one locking read (ordered, so
    workers cannot deadlock; a second worker waits and then sees the first one's alarm), each
    pair's newest alarm in one read, the changed rows in one bulk update, the open alarms that
    saw newer values in another; activations and
    normalizations, which are rare, cost their own writes. Returns how many pairs it evaluated."""
    if not values:
        return 0
    rule_pks = {rule.pk for rule, _ in values}
    device_pks = {device_pk for _, device_pk in values}
    with transaction.atomic():
        states: dict[tuple[int, int], RuleState] = {}
        stateful = [(rule.pk, device_pk) for rule, device_pk in values if _stateful(rule)]
        if stateful:
            have = set(RuleState.objects.filter(rule_id__in=rule_pks, device_id__in=device_pks)
                       .values_list("rule_id", "device_id"))
            missing = [RuleState(rule_id=r, device_id=d) for r, d in stateful if (r, d) not in have]
            if missing:
                RuleState.objects.bulk_create(missing, ignore_conflicts=True)
            states = {(s.rule_id, s.device_id): s for s in RuleState.objects.select_for_update().filter(
                rule_id__in=rule_pks, device_id__in=device_pks).order_by("id")}
        latest = _latest_alarms(rule_pks, device_pks)
        changed, seen = [], []
        for (rule, device_pk), series in values.items():
            state = states.get((rule.pk, device_pk)) if _stateful(rule) else None
            before = (state.count, state.since_ts, state.last_ts, state.last_value) if state else None
            alarm, newest = _series_evaluate(rule, device_pk, series, state, latest.get((rule.pk, device_pk)))
            if state is not None and (state.count, state.since_ts, state.last_ts, state.last_value) != before:
                changed.append(state)
            if alarm is not None and newest is not None and (alarm.last_ts is None or newest > alarm.last_ts):
                alarm.last_ts = newest
                seen.append(alarm)
        if changed:
            _states_save(changed)
        if seen:
            # Rare (open alarms that saw newer values) and few, unlike the rule states: no VALUES trick.
            Alarm.objects.bulk_update(seen, ["last_ts"])
    return len(values)


def _latest_alarms(rule_pks: set[int], device_pks: set[int]) -> dict[tuple[int, int], Alarm]:
    """Each (rule, device)'s newest alarm, open or closed, in one query: the open one is always
    the newest, and a closed one still tells which values are too old to open a new one."""
    newest = (Alarm.objects.filter(rule_id__in=rule_pks, device_id__in=device_pks)
              .values("rule_id", "device_id").annotate(newest=Max("id")).values("newest"))
    return {(a.rule_id, a.device_id): a for a in Alarm.objects.filter(pk__in=newest)}


_STATES_SQL = """UPDATE alarms_rulestate SET count = v.count, since_ts = v.since_ts, last_ts = v.last_ts,
    last_value = v.last_value FROM (VALUES {rows}) AS v(id, count, since_ts, last_ts, last_value)
    WHERE alarms_rulestate.id = v.id"""


def _states_save(states: list[RuleState]) -> None:
    """One UPDATE ... FROM (VALUES ...) with backends.RULE_STATES_SQL (PostgreSQL): Django's
    bulk_update builds a CASE per field and row, which took ~0.4 s for 100 rows
    (tests/perf/bench_alarms.py); otherwise bulk_update."""
    if not backends.RULE_STATES_SQL:
        RuleState.objects.bulk_update(states, ["count", "since_ts", "last_ts", "last_value"])
        return
    as_json = RuleState._meta.get_field("last_value")
    params: list[Any] = []
    for state in states:
        params += [state.pk, state.count, state.since_ts, state.last_ts,
                   as_json.get_db_prep_save(state.last_value, connection)]
    rows = ", ".join(["(%s::bigint, %s::integer, %s::bigint, %s::bigint, %s::jsonb)"] * len(states))
    with connection.cursor() as cursor:
        cursor.execute(_STATES_SQL.format(rows=rows), params)


def rule_evaluate(*, rule: Rule, device_pk: int, values: Iterable[tuple[int, Any]]) -> int:
    """One rule and one device: see pairs_evaluate."""
    return pairs_evaluate({(rule, device_pk): list(values)})


def _series_evaluate(rule: Rule, device_pk: int, values: Series, state: RuleState | None,
                     latest: Alarm | None) -> tuple[Alarm | None, int | None]:
    """One device's values through one rule, oldest first, given the pair's newest alarm (open
    or not); values older than the newest one already evaluated are skipped (a batch overtaken by
    a newer one). Returns the alarm open at the end and the time of the newest value evaluated."""
    values = _not_older(sorted(values, key=lambda item: item[0]), state, latest)
    alarm = latest if latest is not None and latest.is_open else None
    confirm = rule.confirm or {"type": "immediate"}
    condition: dict[str, Any] = rule.condition or {}  # field and property rules have one (alarms/services.py)
    for ts, value in values:
        matches = holds(condition, value)
        if alarm is not None:
            if matches or rule.latch or (rule.normalize and not holds(rule.normalize, value)):
                continue
            services.alarm_normalize(alarm=alarm, detail=f"Value {_shown(value)}: the condition no longer holds.",
                                     ts=ts)
            alarm = None
            _reset(state)
            continue
        if not matches:
            _reset(state)
        elif _confirmed(confirm, state, ts):
            alarm = services.alarm_activate(rule=rule, device_pk=device_pk, value=value, ts=ts)
            if alarm is None:  # another worker opened it a moment ago
                alarm = Alarm.objects.filter(rule=rule, device_id=device_pk, state__in=Alarm.OPEN).first()
            _reset(state)
        if state is not None:
            state.last_ts, state.last_value = ts, (None if value is MISSING else value)
    return alarm, (values[-1][0] if values else None)


def _not_older(values: Series, state: RuleState | None, latest: Alarm | None) -> Series:
    """Drops the values older than the newest one evaluated, which the confirmation row knows for
    sequence and timespan rules, and the pair's newest alarm for every rule (immediate rules have
    no row; and a row does not advance while its alarm is open)."""
    marks = [t for t in (state.last_ts if state else None, latest.last_ts if latest else None) if t is not None]
    return [(ts, v) for ts, v in values if ts >= max(marks)] if marks else values


def _shown(value: Any) -> Any:
    return "absent" if value is MISSING else value


def _reset(state: RuleState | None) -> None:
    if state is not None:
        state.count, state.since_ts = 0, None


def _confirmed(confirm: dict[str, Any], state: RuleState | None, ts: int) -> bool:
    """One more matching value: is the alarm confirmed now? (A sequence or timespan rule always has
    its state row: pairs_evaluate creates it.)"""
    if confirm["type"] == "sequence":
        assert state is not None
        state.count += 1
        return state.count >= confirm["count"]
    if confirm["type"] == "timespan":
        assert state is not None
        if state.since_ts is None:
            state.since_ts = ts
        return ts - state.since_ts >= confirm["seconds"] * 1000
    return True


def _normalize_heard(device_pks: set[int]) -> None:
    """A message arrived: open status and silence alarms of these devices normalize (the device
    is connected again, it is not silent any more)."""
    for alarm in Alarm.objects.filter(device_id__in=device_pks, state__in=Alarm.OPEN,
                                      rule__source_type__in=(Rule.STATUS, Rule.SILENCE), rule__latch=False):
        try:
            services.alarm_normalize(alarm=alarm, detail="A message arrived from the device.")
        except Exception:
            logger.exception("alarms: normalizing alarm %s failed", alarm.pk)


def status_evaluate(changes: Sequence[StatusChanged]) -> int:
    """Opens an alarm for each status rule that watches a device that went disconnected
    (StatusChanged values from the timeout sweep). Returns how many were opened."""
    gone = [c for c in changes if not c.connected]
    watched = watch_map()
    owners = {c.owner_id for c in gone if watched.get(c.owner_id, {}).get("s")}
    if not owners:
        return 0
    rules = _rules_by_owner(owners, (Rule.STATUS,))
    opened = 0
    for change in gone:
        for rule in rules.get(change.owner_id, ()):
            if _applies(rule, change.device_pk) and services.alarm_activate(
                    rule=rule, device_pk=change.device_pk, value="disconnected",
                    detail="The device stopped calling back within its connection timeout."):
                opened += 1
    return opened


def _rule_devices(rule: Rule) -> QuerySet[Device]:
    devices = Device.objects.filter(owner_id=rule.owner_id, enabled=True)
    return devices if rule.all_devices else devices.filter(pk__in=rule.devices.values("pk"))


def sweep_status(now: datetime) -> int:
    """Backstop for a lost announcement: a device that went disconnected after the rule was made
    and has no alarm of this rule since then gets one; open status alarms of devices that are
    connected again normalize."""
    opened = 0
    for rule in Rule.objects.filter(enabled=True, source_type=Rule.STATUS):
        since = Alarm.objects.filter(rule=rule, device=OuterRef("pk"), activated__gte=OuterRef("connected_ts"))
        for pk in (_rule_devices(rule).filter(connected=False, connected_ts__gte=rule.created)
                   .exclude(Exists(since)).values_list("pk", flat=True)):
            if services.alarm_activate(rule=rule, device_pk=pk, value="disconnected",
                                       detail="The device stopped calling back within its connection timeout."):
                opened += 1
    for alarm in Alarm.objects.filter(state__in=Alarm.OPEN, rule__source_type=Rule.STATUS, rule__latch=False,
                                      device__connected=True):
        services.alarm_normalize(alarm=alarm, detail="The device is connected again.")
    return opened


def sweep_silence(now: datetime) -> int:
    """Opens an alarm for each device silent for the rule's minutes (no message since then, or
    since it was created), once per silent spell: a device that stays silent after its alarm was
    cleared gets no new one until it has spoken again. Open silence alarms of devices heard from
    since normalize."""
    opened = 0
    for rule in Rule.objects.filter(enabled=True, source_type=Rule.SILENCE):
        if rule.silence_minutes is None:  # required for silence rules by the form and the API
            continue
        cutoff = now - timedelta(minutes=rule.silence_minutes)
        spell = Alarm.objects.filter(rule=rule, device=OuterRef("pk"), activated__gte=OuterRef("quiet_since"))
        silent = (_rule_devices(rule).annotate(quiet_since=Coalesce("last_seen", "created"))
                  .filter(quiet_since__lte=cutoff).exclude(Exists(spell)).values_list("pk", "quiet_since"))
        for pk, quiet_since in silent:
            minutes = int((now - quiet_since).total_seconds() // 60)
            if services.alarm_activate(rule=rule, device_pk=pk, value=minutes,
                                       detail=f"No message for {minutes} minutes (rule: {rule.silence_minutes})."):
                opened += 1
    for alarm in Alarm.objects.filter(state__in=Alarm.OPEN, rule__source_type=Rule.SILENCE, rule__latch=False,
                                      device__last_seen__gt=F("activated")):
        services.alarm_normalize(alarm=alarm, detail="A message arrived from the device.")
    return opened


def sweep_timespans(now: datetime) -> int:
    """A timespan rule whose last value matched and was not contradicted for its seconds opens
    the alarm even if the device sends nothing more (the condition has held that long)."""
    now_ms = ms(now)
    opened = 0
    for state in (RuleState.objects.filter(since_ts__isnull=False, rule__enabled=True,
                                           rule__confirm__type="timespan").select_related("rule")):
        rule = state.rule
        if state.since_ts + rule.confirm["seconds"] * 1000 > now_ms:
            continue
        with transaction.atomic():
            locked = RuleState.objects.select_for_update().filter(pk=state.pk, since_ts=state.since_ts).first()
            if locked is None:
                continue
            if (not Alarm.objects.filter(rule=rule, device_id=state.device_id, state__in=Alarm.OPEN).exists()
                    and services.alarm_activate(rule=rule, device_pk=state.device_id, value=locked.last_value,
                                                  ts=locked.last_ts)):
                opened += 1
            locked.count, locked.since_ts = 0, None
            locked.save(update_fields=["count", "since_ts"])
    return opened


def alarms_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Beat, every 30 s: status backstop, silence, timespans, reminders, shelving. Each part is
    safe with several beats or workers at once (conditional updates, the open-alarm index)."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    parts: tuple[tuple[str, Callable[[datetime], int]], ...] = (
        ("status", sweep_status), ("silence", sweep_silence), ("timespan", sweep_timespans),
        ("remind", lambda at: services.alarms_remind(now=at)), ("unshelve", lambda at: services.alarms_unshelve(now=at)))
    for name, part in parts:
        try:
            counts[name] = part(now)
        except Exception:
            logger.exception("alarms sweep: %s failed; the next sweep tries again", name)
    return counts
