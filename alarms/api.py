"""The alarms part of the REST API (docs/alarms.md). Thin adapters: the owner (404 for anyone
else), a serializer for the shape, one service for the meaning and the write."""
from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms import selectors, services
from alarms.models import SEVERITIES, Alarm, Rule
from alarms.serializers import (
    AlarmDetailSchema,
    AlarmSchema,
    RuleSchema,
    RuleSerializer,
    ShelveSerializer,
)
from buckets.models import Bucket
from devices.models import Device
from endpoints.models import Endpoint
from platform.auth import owner_or_404
from platform.schema import api_errors
from platform.serializers import items_param

ITEMS_DEFAULT, ITEMS_MAX = 100, 1000

# Request examples: the bodies Swagger UI fills in for "Try it out", so each is one the API accepts
# as is, with the ids the docs use (tests/security/test_api_examples.py sends them all).
_TOO_HOT = {
    "name": "Too hot", "severity": "high", "source": {"type": "bucket", "bucket": "b1", "field": "temperature"},
    "devices": None, "condition": {"op": "gt", "value": 30}, "confirm": {"type": "timespan", "seconds": 120},
    "normalize": {"op": "lt", "value": 25}, "latch": False,
    "notify": {"endpoints": ["e1"], "emails": ["ops@example.com"]}, "reminder": {"minutes": 60}}
RULE_EXAMPLE = OpenApiExample("Too hot", request_only=True, value={"rule": "too-hot", **_TOO_HOT})
RULE_REPLACE_EXAMPLE = OpenApiExample("The whole rule", request_only=True, value={
    **_TOO_HOT, "condition": {"op": "gt", "value": 32}})
RULE_CHANGES_EXAMPLE = OpenApiExample("More severe", request_only=True, value={"severity": "critical"})
SHELVE_EXAMPLE = OpenApiExample("An hour", request_only=True, value={"minutes": 60})


# The model's field names as the API names them, for what the model itself refuses.
API_NAMES = {"rule_id": "rule", "property": "source.property", "field": "source.field",
             "silence_minutes": "source.minutes", "reminder_minutes": "reminder.minutes", "emails": "notify.emails"}


def _model_errors(exc):
    if not hasattr(exc, "error_dict"):
        return ValidationError(exc.messages)
    return ValidationError({API_NAMES.get(name, name): messages for name, messages in exc.message_dict.items()})


def _by_ids(model, owner, key, ids, what):
    found = {getattr(o, key): o for o in model.objects.filter(owner=owner, **{f"{key}__in": ids})}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError({what: f"No such {what.rstrip('s').split('.')[-1]}: {', '.join(missing[:10])}."})
    return [found[i] for i in dict.fromkeys(ids)]


def rule_spec(owner, data):
    """Serializer output as rule_create/rule_update keywords, ids resolved to the owner's objects.
    A bucket named on a rule of another type goes as its id: the service refuses it with the other
    settings that type does not use, in the same answer."""
    source, notify = data["source"], data.get("notify") or {}
    bucket = source.get("bucket") or None
    if source["type"] == Rule.BUCKET and bucket is not None:
        bucket = Bucket.objects.filter(owner=owner, bucket_id=source["bucket"]).first()
        if bucket is None:
            raise ValidationError({"source.bucket": f"you have no bucket '{source['bucket']}'."})
    devices = data.get("devices")
    return {
        "name": data.get("name", ""), "description": data.get("description", ""),
        "enabled": data.get("enabled", True), "severity": data.get("severity", "medium"),
        "source_type": source["type"], "bucket": bucket, "property": source.get("property") or "",
        "field": source.get("field") or "", "silence_minutes": source.get("minutes"),
        "devices": None if devices is None else _by_ids(Device, owner, "device_id", devices, "devices"),
        "condition": data.get("condition"), "confirm": data.get("confirm"), "normalize": data.get("normalize"),
        "latch": data.get("latch", False),
        "endpoints": _by_ids(Endpoint, owner, "endpoint_id", notify.get("endpoints") or [], "notify.endpoints"),
        "emails": notify.get("emails") or [],
        "reminder_minutes": (data.get("reminder") or {}).get("minutes"),
    }


class RuleList(APIView):
    @extend_schema(operation_id="v1_users_alarms_rules_list", responses={200: RuleSchema(many=True), **api_errors()})
    def get(self, request, user):
        return Response(RuleSchema(selectors.rules_for_owner(owner_or_404(request, user)), many=True).data)

    @extend_schema(request=RuleSerializer, examples=[RULE_EXAMPLE], responses={201: RuleSchema, **api_errors(400)})
    def post(self, request, user):
        owner = owner_or_404(request, user)
        serializer = RuleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            rule = services.rule_create(owner=owner, rule_id=data["rule"], **rule_spec(owner, data))
        except DjangoValidationError as exc:
            raise _model_errors(exc) from None
        return Response(RuleSchema(selectors.rule_for_owner_or_404(owner, rule.rule_id)).data,
                        status=status.HTTP_201_CREATED)


class RuleDetail(APIView):
    @extend_schema(responses={200: RuleSchema, **api_errors()})
    def get(self, request, user, rule):
        return Response(RuleSchema(selectors.rule_for_owner_or_404(owner_or_404(request, user), rule)).data)

    @extend_schema(request=RuleSerializer, examples=[RULE_REPLACE_EXAMPLE], responses={200: RuleSchema, **api_errors(400)})
    def put(self, request, user, rule):
        """Replaces the rule: what the body leaves out takes its default."""
        return self._update(request, user, rule, partial=False)

    @extend_schema(request=RuleSerializer(partial=True), examples=[RULE_CHANGES_EXAMPLE], responses={200: RuleSchema, **api_errors(400)})
    def patch(self, request, user, rule):
        """Changes the fields given; `source` and `notify` merge with the current ones."""
        return self._update(request, user, rule, partial=True)

    def _update(self, request, user, rule_id, *, partial):
        found = selectors.rule_for_owner_or_404(owner_or_404(request, user), rule_id)
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError("Send the rule as a JSON object.")
        if "rule" in data and data["rule"] != found.rule_id:
            raise ValidationError({"rule": "A rule's id cannot change."})
        if partial:
            current = RuleSchema(found).data
            merged = {**current, **data}
            for nested in ("source", "notify"):
                if isinstance(data.get(nested), dict) and (nested != "source" or
                                                           data[nested].get("type", current["source"]["type"])
                                                           == current["source"]["type"]):
                    merged[nested] = {**current[nested], **data[nested]}
            # A bucket or property rule changed into a status or silence rule drops the condition,
            # normalize and confirm it had: the client did not send them. One the body gives is
            # judged as sent (a non-null condition is refused).
            kind = data["source"].get("type") if isinstance(data.get("source"), dict) else None
            if kind in (Rule.STATUS, Rule.SILENCE):
                merged.update({name: None for name in ("condition", "normalize", "confirm") if name not in data})
            data = {k: v for k, v in merged.items() if k not in ("created", "modified")}
        serializer = RuleSerializer(data={**data, "rule": found.rule_id})
        serializer.is_valid(raise_exception=True)
        try:
            services.rule_update(rule=found, **rule_spec(found.owner, serializer.validated_data))
        except DjangoValidationError as exc:
            raise _model_errors(exc) from None
        return Response(RuleSchema(selectors.rule_for_owner_or_404(found.owner, found.rule_id)).data)

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, rule):
        services.rule_delete(rule=selectors.rule_for_owner_or_404(owner_or_404(request, user), rule))
        return Response(status=status.HTTP_204_NO_CONTENT)


STATE_PARAMETER = OpenApiParameter("state", str, enum=[s for s, _ in Alarm.STATES],
                                   description="one state, or several separated by commas; also `open`")


class AlarmList(APIView):
    @extend_schema(operation_id="v1_users_alarms_list",
                   parameters=[STATE_PARAMETER, OpenApiParameter("severity", str, enum=list(SEVERITIES)),
                               OpenApiParameter("device", str, description="device id"),
                               OpenApiParameter("rule", str, description="rule id"),
                               OpenApiParameter("items", int, description=f"default {ITEMS_DEFAULT}, max {ITEMS_MAX}")],
                   responses={200: AlarmSchema(many=True), **api_errors(400)})
    def get(self, request, user):
        """Open alarms first (most severe first), then closed ones; newest first within each."""
        owner = owner_or_404(request, user)
        query = request.query_params
        states: set[str] | None = None
        if query.get("state"):
            states = set()
            for state in query["state"].split(","):
                if state == "open":
                    states.update(Alarm.OPEN)
                elif state in dict(Alarm.STATES):
                    states.add(state)
                else:
                    raise ValidationError({"state": "Use active, acknowledged, shelved, normalized, cleared or open."})
        severity = query.get("severity") or None
        if severity and severity not in SEVERITIES:
            raise ValidationError({"severity": f"Use one of {', '.join(SEVERITIES)}."})
        items = items_param(query, ITEMS_DEFAULT, ITEMS_MAX)
        rows = selectors.alarms_for_owner(owner, states=states, severity=severity, device=query.get("device"),
                                          rule=query.get("rule"))[:items]
        return Response(AlarmSchema(rows, many=True).data)


class AlarmDetail(APIView):
    @extend_schema(responses={200: AlarmDetailSchema, **api_errors()})
    def get(self, request, user, alarm):
        return Response(AlarmDetailSchema(selectors.alarm_for_owner_or_404(owner_or_404(request, user), alarm)).data)


class AlarmAction(APIView):
    # Not `action`: drf-spectacular reads a view's `action` as the name of the method that holds
    # the operation's description, and the schema lost the post() docstrings.
    verb: str = ""

    def _done(self, request, user, alarm, **kwargs):
        found = selectors.alarm_for_owner_or_404(owner_or_404(request, user), alarm)
        acts: dict[str, Callable[..., Alarm]] = {"acknowledge": services.alarm_acknowledge,
                                                 "shelve": services.alarm_shelve, "clear": services.alarm_clear}
        act = acts[self.verb]
        try:
            changed = act(alarm=found, by=request.user.get_username(), **kwargs)
        except services.AlarmActionError as exc:
            raise ValidationError(str(exc)) from None
        return Response(AlarmDetailSchema(selectors.alarm_for_owner_or_404(changed.owner, changed.pk)).data)


class AlarmAcknowledge(AlarmAction):
    verb = "acknowledge"

    @extend_schema(request=None, responses={200: AlarmDetailSchema, **api_errors(400)})
    def post(self, request, user, alarm):
        """Someone is on it: reminders stop. 400 unless it is active or shelved."""
        return self._done(request, user, alarm)


class AlarmShelve(AlarmAction):
    verb = "shelve"

    @extend_schema(request=ShelveSerializer, examples=[SHELVE_EXAMPLE], responses={200: AlarmDetailSchema, **api_errors(400)})
    def post(self, request, user, alarm):
        """No notifications for `minutes` (default 60); then it is active again. 400 unless open."""
        serializer = ShelveSerializer(data=request.data if isinstance(request.data, dict) else {})
        serializer.is_valid(raise_exception=True)
        return self._done(request, user, alarm, minutes=serializer.validated_data["minutes"])


class AlarmClear(AlarmAction):
    verb = "clear"

    @extend_schema(request=None, responses={200: AlarmDetailSchema, **api_errors(400)})
    def post(self, request, user, alarm):
        """Closes it; the rule's next activation opens a new alarm. 400 if already cleared."""
        return self._done(request, user, alarm)


