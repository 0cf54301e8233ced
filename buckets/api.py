"""The buckets REST API (docs/api.md): adapters from HTTP to selectors and services."""
from django.core.exceptions import RequestDataTooBig
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from buckets import openapi as doc
from buckets import selectors, services
from buckets.selectors.export import CONTENT_TYPES
from buckets.serializers import (
    BucketReplaceSerializer,
    BucketSerializer,
    DataQuerySerializer,
    ExportSerializer,
    RangeSerializer,
    bucket_changes,
)
from platform.api import error_response
from platform.auth import owner_or_404
from platform.clock import now_ms
from platform.payloads import PayloadError, is_json_media_type, not_json_message, payload_parse, payload_records
from platform.schema import api_errors

# Request examples: the bodies Swagger UI fills in for "Try it out", so each is one the API accepts
# as is, with the ids the docs use (tests/security/test_api_examples.py sends them all).
_CONFIG = {"source": "api", "retention": {"period": 30, "unit": "days"}}
BUCKET_EXAMPLE = OpenApiExample("A bucket kept 30 days", request_only=True, value={
    "bucket": "b1", "name": "Data", "description": "Readings of sensor-1", "enabled": True, "config": _CONFIG})
BUCKET_REPLACE_EXAMPLE = OpenApiExample("The whole bucket", request_only=True, value={
    "name": "Data", "description": "Readings of sensor-1", "enabled": True,
    "config": {**_CONFIG, "retention": {"period": 90, "unit": "days"}}})
BUCKET_CHANGES_EXAMPLE = OpenApiExample("Keep a year", request_only=True, value={
    "config": {"retention": {"period": 1, "unit": "years"}}})
RECORDS_EXAMPLE = OpenApiExample("Two readings", request_only=True, value=[
    {"temperature": 20, "ts": 1700000000000}, {"temperature": 20.5, "ts": 1700000060000}])


def _bucket(request, user, bucket):
    return selectors.bucket_for_owner_or_404(owner_or_404(request, user), bucket)


# Query parameters that take one of a list of words (an enum in the schema).
_CHOICES = ("sort", "agg", "agg_type", "format", "timestamp_format")


def _query(request):
    """The query string as a plain dict. DRF reads an empty value in a QueryDict as "not given",
    which is right for a range bound (`max_ts=` is an open end) but not for a choice: `sort=`
    would quietly mean the default, so there it is refused like any word not allowed."""
    return {name: value for name, value in request.query_params.dict().items() if value != "" or name in _CHOICES}


def _valid(serializer_class, data, **kwargs):
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class BucketListApi(APIView):
    @extend_schema(operation_id="v1_users_buckets_list", responses={200: BucketSerializer(many=True), **api_errors()})
    def get(self, request, user):
        owner = owner_or_404(request, user)
        return Response(BucketSerializer(selectors.buckets_list(owner=owner), many=True).data)

    @extend_schema(request=BucketSerializer, examples=[BUCKET_EXAMPLE],
                   responses={201: BucketSerializer, **api_errors(400)})
    def post(self, request, user):
        owner = owner_or_404(request, user)
        data = _valid(BucketSerializer, request.data)
        try:
            bucket = services.bucket_create(owner=owner, bucket_id=data["bucket"], **bucket_changes(data))
        except services.BucketExists as exc:
            return error_response(400, str(exc))
        return Response(BucketSerializer(bucket).data, status=status.HTTP_201_CREATED)


class BucketApi(APIView):
    @extend_schema(responses={200: BucketSerializer, **api_errors()})
    def get(self, request, user, bucket):
        return Response(BucketSerializer(_bucket(request, user, bucket)).data)

    def _update(self, request, user, bucket, partial):
        found = _bucket(request, user, bucket)
        data = request.data.dict() if hasattr(request.data, "dict") else request.data
        data = dict(data) if isinstance(data, dict) else data
        if not partial and not data:
            # The schema marks PUT's body required: an empty one must not reset the bucket.
            return error_response(400, "Send the whole bucket as a JSON object (PUT replaces it; PATCH changes "
                                       "some fields).")
        if isinstance(data, dict):
            # The id is in the URL; a body may repeat it, but not change it.
            if data.get("bucket", found.bucket_id) != found.bucket_id:
                return error_response(400, "bucket: the id cannot be changed; create a new bucket instead.")
            data["bucket"] = found.bucket_id
        changes = bucket_changes(_valid(BucketSerializer, data, partial=partial))
        return Response(BucketSerializer(services.bucket_update(bucket=found, **changes)).data)

    @extend_schema(request=BucketReplaceSerializer, examples=[BUCKET_REPLACE_EXAMPLE], responses={200: BucketSerializer, **api_errors(400)})
    def put(self, request, user, bucket):
        return self._update(request, user, bucket, partial=False)

    @extend_schema(request=BucketSerializer, examples=[BUCKET_CHANGES_EXAMPLE],
                   responses={200: BucketSerializer, **api_errors(400)})
    def patch(self, request, user, bucket):
        return self._update(request, user, bucket, partial=True)

    @extend_schema(responses={204: None, **api_errors()})
    def delete(self, request, user, bucket):
        services.bucket_delete(bucket=_bucket(request, user, bucket))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BucketDataApi(APIView):
    @extend_schema(parameters=[DataQuerySerializer], responses={200: doc.RecordSchema(many=True), **api_errors(400)})
    def get(self, request, user, bucket):
        found = _bucket(request, user, bucket)
        query = dict(_valid(DataQuerySerializer, _query(request)))
        if "agg" in query:
            query.setdefault("agg_type", "mean")
            return Response(selectors.records_aggregate(bucket=found, **query))
        return Response(selectors.records_query(bucket=found, **query))

    @extend_schema(request=doc.RECORDS_BODY, examples=[RECORDS_EXAMPLE], responses={200: doc.RecordsStoredSchema, **api_errors(400, 413, 415)})
    def post(self, request, user, bucket):
        found = _bucket(request, user, bucket)
        # No Content-Type at all is read as JSON here; any other type is refused as everywhere.
        if request.content_type and not is_json_media_type(request.content_type):
            return error_response(415, not_json_message(request.content_type))
        try:
            payload = payload_parse(request.body)
        except RequestDataTooBig:
            return error_response(413, "Body too large: send the records in smaller arrays.")
        except PayloadError as exc:
            return error_response(400, str(exc))
        stored, skipped = services.records_write(bucket=found, records=payload_records(payload, now_ms()))
        return Response(doc.RecordsStoredSchema({"stored": stored, "skipped": skipped}).data)

    @extend_schema(parameters=[RangeSerializer], responses={200: doc.RecordsDeletedSchema, **api_errors(400)})
    def delete(self, request, user, bucket):
        found = _bucket(request, user, bucket)
        deleted = services.records_clear(bucket=found, **_valid(RangeSerializer, _query(request)))
        return Response(doc.RecordsDeletedSchema({"deleted": deleted}).data)


class _IgnoreFormatParameter(DefaultContentNegotiation):
    """`?format=` names the export format here, not a DRF renderer; errors are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class BucketExportApi(APIView):
    content_negotiation_class = _IgnoreFormatParameter

    @extend_schema(parameters=[ExportSerializer],
                   responses={**{(200, ct): schema for ct, schema in doc.EXPORT_BODY.items()}, **api_errors(400)})
    def get(self, request, user, bucket):
        found = _bucket(request, user, bucket)
        query = _valid(ExportSerializer, _query(request))
        fmt = query["format"]
        chunks = selectors.export_stream(bucket=found, fmt=fmt, timestamp_format=query["timestamp_format"],
                                         min_ts=query.get("min_ts"), max_ts=query.get("max_ts"))
        response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{found.bucket_id}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response
