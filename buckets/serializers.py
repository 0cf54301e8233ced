"""The JSON shapes of the buckets API (docs/api.md) and the validation of query parameters; no behaviour."""
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from buckets.models import Bucket
from buckets.selectors import AGG_STEPS, AGG_TYPES, EXPORT_FORMATS, TIMESTAMP_FORMATS
from buckets.services import SOURCES
from platform.serializers import JsonBooleanField, JsonCharField, JsonIntegerField, QueryIntegerField
from platform.validators import DESCRIPTION_MAX, id_validator

UNITS = [u for u, _ in Bucket.UNITS]


def _choice(choices, **kwargs):
    allowed = ", ".join(choices)
    return serializers.ChoiceField(choices=list(choices), error_messages={
        "invalid_choice": f'"{{input}}" is not allowed; use one of {allowed}.'}, **kwargs)


def _ms(**kwargs):
    return QueryIntegerField(min_value=0, error_messages={
        "invalid": "Use epoch milliseconds, an integer.", "min_value": "Use epoch milliseconds, 0 or more."},
        required=False, **kwargs)


class RetentionSerializer(serializers.Serializer):
    period = JsonIntegerField(min_value=1, max_value=1_000_000)
    unit = _choice(UNITS)

    def validate(self, attrs):
        # A PATCH is partial, but a retention is whole: {} or a period alone would not mean anything.
        missing = [name for name in ("period", "unit") if name not in attrs]
        if missing:
            raise serializers.ValidationError({name: "This field is required." for name in missing})
        return attrs


class ConfigSerializer(serializers.Serializer):
    source = _choice(SOURCES, required=False, default="api")
    retention = RetentionSerializer(required=False, allow_null=True, default=None)


class BucketSerializer(serializers.Serializer):
    bucket = JsonCharField(validators=[id_validator], max_length=64)
    name = JsonCharField(max_length=200, allow_blank=True, required=False, default="")
    description = JsonCharField(allow_blank=True, required=False, default="", max_length=DESCRIPTION_MAX)
    enabled = JsonBooleanField(required=False, default=True)
    config = ConfigSerializer(required=False, default=lambda: {"source": "api", "retention": None})

    def to_representation(self, bucket):
        retention = None
        if bucket.retention_period:
            retention = {"period": bucket.retention_period, "unit": bucket.retention_unit}
        return {"bucket": bucket.bucket_id, "name": bucket.name, "description": bucket.description,
                "enabled": bucket.enabled, "config": {"source": bucket.source, "retention": retention}}


@extend_schema_serializer(component_name="BucketReplace")
class BucketReplaceSerializer(BucketSerializer):
    """PUT's body, for the schema: the URL names the bucket, so the body may leave its id out."""

    bucket = JsonCharField(validators=[id_validator], max_length=64, required=False)


def bucket_changes(data):
    """Validated serializer data as keyword arguments of bucket_create / bucket_update."""
    changes = {k: data[k] for k in ("name", "description", "enabled") if k in data}
    config = data.get("config") or {}
    for key in ("source", "retention"):
        if key in config:
            changes[key] = config[key]
    return changes


class RangeSerializer(serializers.Serializer):
    min_ts = _ms()
    max_ts = _ms()

    def validate(self, attrs):
        if attrs.get("min_ts") is not None and attrs.get("max_ts") is not None and attrs["min_ts"] > attrs["max_ts"]:
            raise serializers.ValidationError({"min_ts": "min_ts must not be after max_ts."})
        return attrs


class DataQuerySerializer(RangeSerializer):
    items = QueryIntegerField(min_value=1, max_value=1000, required=False, default=100, error_messages={
        "invalid": "Use an integer from 1 to 1000.", "min_value": "Use an integer from 1 to 1000.",
        "max_value": "Use an integer from 1 to 1000."})
    sort = _choice(("asc", "desc"), required=False, default="desc")
    agg = _choice(tuple(AGG_STEPS), required=False)
    agg_type = _choice(AGG_TYPES, required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if "agg_type" in attrs and "agg" not in attrs:
            raise serializers.ValidationError({"agg": f"agg_type needs agg, one of {', '.join(AGG_STEPS)}."})
        return attrs


class ExportSerializer(RangeSerializer):
    format = _choice(EXPORT_FORMATS, required=False, default="csv")
    timestamp_format = _choice(TIMESTAMP_FORMATS, required=False, default="milliseconds")
