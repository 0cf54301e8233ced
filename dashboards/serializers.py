"""The JSON of docs/dashboards.md. Widgets are checked by dashboards/widgets.py (one set of rules
for the API and the web forms); these serializers check the dashboard's own fields.

Each response class renders its body and is its schema (drf-spectacular); their names end in
"Schema", the components of the published OpenAPI document, so comments, not docstrings (which
become the components' text), say how they render."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboards.widgets import MAX_WIDGETS, TYPES
from platform.serializers import ComputedBooleanField, EpochMsField, JsonCharField, JsonRegexField
from platform.validators import DESCRIPTION_MAX, ID_PATTERN

ID_MESSAGE = "Use 1 to 64 letters, digits, '_' or '-'."


# A widget as a request gives it, for the schema only: dashboards/widgets.py checks widgets (the
# same rules as the web forms), so this serializer never validates anything.
class WidgetWriteSchema(serializers.Serializer):
    id = serializers.CharField(required=False, help_text="optional: w1, w2, ... are given")
    type = serializers.ChoiceField(choices=list(TYPES))
    title = serializers.CharField(required=False, max_length=100)
    layout = serializers.DictField(required=False, help_text='{"x", "y", "w", "h"} in cells of a 12-column grid; '
                                                             "by default the type's size, in the first free place")
    source = serializers.DictField(  # type: ignore[assignment]  # the field is named like Field.source (stubs)
        help_text='{"bucket", "fields", "range", "agg", "agg_type", "items"} | {"device", "property", "field"}')
    options = serializers.DictField(required=False, help_text='{"unit", "decimals", "min", "max", "color"}; '
                                                              'downlink: {"payload", "label"}')


# Any JSON, checked by dashboards/widgets.py (which names the widget at fault: widgets.0.type);
# documented as the list of widgets it must be.
@extend_schema_field(WidgetWriteSchema(many=True))
class WidgetsField(serializers.JSONField):
    pass


class DashboardWriteSerializer(serializers.Serializer):
    """POST (all of `dashboard` required) and PUT/PATCH (partial: only the fields given change;
    `widgets`, when given, replaces the whole list)."""

    dashboard = JsonRegexField(ID_PATTERN, max_length=64, error_messages={"invalid": ID_MESSAGE})
    name = JsonCharField(max_length=200, allow_blank=True, required=False)
    description = JsonCharField(allow_blank=True, required=False, max_length=DESCRIPTION_MAX)
    widgets = WidgetsField(required=False, help_text=f"at most {MAX_WIDGETS}; replaces the whole list "
                                                     "(docs/dashboards.md)")

    def validate_dashboard(self, value):
        current = self.context.get("dashboard")
        if current is not None and value != current.dashboard_id:
            raise serializers.ValidationError("The dashboard id cannot be changed: create a new dashboard instead.")
        return value


# A widget is rendered as stored: dashboards/widgets.py checked it whole when it was saved, and
# what it holds beyond these keys (a downlink's payload, say) is the widget's own.
class WidgetSchema(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=["chart", "value", "gauge", "status", "map", "table", "property",
                                            "downlink"])
    title = serializers.CharField()
    layout = serializers.DictField(help_text='{"x": 0, "y": 0, "w": 6, "h": 4} on a 12-column grid')
    source = serializers.DictField(  # type: ignore[assignment]  # the field is named like Field.source (stubs)
        help_text='{"bucket", "fields", "range", "agg", "agg_type"} | {"device", "property", "field"} | {"device"}; '
                  'a value or gauge over a bucket: {"bucket", "fields": [one]} ("field": one is accepted)')
    options = serializers.DictField(help_text='{"unit", "decimals", "min", "max", "color"}; downlink: '
                                              '{"payload", "label"}')

    def to_representation(self, widget: dict) -> dict:
        return widget


class DashboardSchema(serializers.Serializer):
    dashboard = serializers.CharField(source="dashboard_id")
    name = serializers.CharField()
    description = serializers.CharField()
    widgets = WidgetSchema(many=True)
    shared = ComputedBooleanField(compute=lambda d: d.share_hash is not None,
                                  help_text="whether a read-only link is live")
    created = EpochMsField(help_text="epoch ms")
    modified = EpochMsField(help_text="epoch ms")


class ShareSchema(serializers.Serializer):
    url = serializers.CharField(help_text="the read-only link; shown only now (only its hash is kept)")
