"""Shapes of the buckets API bodies that no validating serializer describes, for the OpenAPI
schema (drf-spectacular). The write answers (stored, deleted) are rendered by their class too;
records are documented here but answered as the selectors read them (up to 1000 a page, each
`val` as stored)."""
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers


class RecordSchema(serializers.Serializer):
    ts = serializers.IntegerField(help_text="epoch ms (with agg: the interval start)")
    val = serializers.DictField(help_text="the record; with agg, its numeric fields aggregated")


# The body of POST .../data: the JSON itself, not an object with a field (same shape as the callback).
RECORDS_BODY = {"application/json": {"oneOf": [
    {"type": "object", "additionalProperties": True},
    {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": True}}]}}


class RecordsStoredSchema(serializers.Serializer):
    stored = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="records already stored (same message and index)")


class RecordsDeletedSchema(serializers.Serializer):
    deleted = serializers.IntegerField()


EXPORT_BODY = {"text/csv": OpenApiTypes.STR, "application/json": OpenApiTypes.ANY,
               "application/x-ndjson": OpenApiTypes.STR}
