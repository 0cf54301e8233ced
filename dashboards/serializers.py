"""The JSON of docs/dashboards.md. Widgets are checked by dashboards/widgets.py (one set of rules
for the API and the web forms); these serializers check the dashboard's own fields."""
from rest_framework import serializers

from platform.payloads import ms
from platform.validators import ID_PATTERN

ID_MESSAGE = "Use 1 to 64 letters, digits, '_' or '-'."


def dashboard_json(dashboard):
    return {
        "dashboard": dashboard.dashboard_id,
        "name": dashboard.name,
        "description": dashboard.description,
        "widgets": dashboard.widgets,
        "shared": dashboard.share_hash is not None,
        "created": ms(dashboard.created),
        "modified": ms(dashboard.modified),
    }


class DashboardWriteSerializer(serializers.Serializer):
    """POST (all of `dashboard` required) and PUT/PATCH (partial: only the fields given change;
    `widgets`, when given, replaces the whole list)."""

    dashboard = serializers.RegexField(ID_PATTERN, max_length=64, error_messages={"invalid": ID_MESSAGE})
    name = serializers.CharField(max_length=200, allow_blank=True, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=2000)
    widgets = serializers.JSONField(required=False, help_text="a list of widgets: id, type, title, layout, "
                                                              "source, options (docs/dashboards.md)")

    def validate_dashboard(self, value):
        current = self.context.get("dashboard")
        if current is not None and value != current.dashboard_id:
            raise serializers.ValidationError("The dashboard id cannot be changed: create a new dashboard instead.")
        return value


class WidgetSchema(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.ChoiceField(choices=["chart", "value", "gauge", "status", "map", "table", "property",
                                            "downlink"])
    title = serializers.CharField()
    layout = serializers.DictField(help_text='{"x": 0, "y": 0, "w": 6, "h": 4} on a 12-column grid')
    source = serializers.DictField(help_text='{"bucket", "fields", "range", "agg", "agg_type"} | '
                                             '{"device", "property", "field"} | {"device"}')
    options = serializers.DictField(help_text='{"unit", "decimals", "min", "max", "color"}; downlink: '
                                              '{"payload", "label"}')


class DashboardSchema(serializers.Serializer):
    dashboard = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    widgets = WidgetSchema(many=True)
    shared = serializers.BooleanField(help_text="whether a read-only link is live")
    created = serializers.IntegerField(help_text="epoch ms")
    modified = serializers.IntegerField(help_text="epoch ms")


class ShareSchema(serializers.Serializer):
    url = serializers.CharField(help_text="the read-only link; shown only now (only its hash is kept)")
