"""Reads on buckets: look-ups through the owner, record queries, aggregation, export."""
from buckets.selectors.aggregate import AGG_STEPS, AGG_TYPES, records_aggregate
from buckets.selectors.export import EXPORT_FORMATS, TIMESTAMP_FORMATS, export_columns, export_stream
from buckets.selectors.query import bucket_for_owner_or_404, buckets_list, records_query

__all__ = [
    "AGG_STEPS",
    "AGG_TYPES",
    "EXPORT_FORMATS",
    "TIMESTAMP_FORMATS",
    "bucket_for_owner_or_404",
    "buckets_list",
    "export_columns",
    "export_stream",
    "records_aggregate",
    "records_query",
]
