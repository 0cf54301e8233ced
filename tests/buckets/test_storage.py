"""Storing records as ingest does. A parity suite (`make test` runs it on PostgreSQL and on SQLite)."""
import pytest

from buckets.models import Record
from buckets.services import records_store

pytestmark = pytest.mark.parity


def test_records_store_inserts_rows(bucket):
    assert records_store(bucket_pk=bucket.pk, rows=[(1, 0, 1000, {"a": 1}), (1, 1, 2000, {"a": 2})]) == 2
    assert list(Record.objects.order_by("ts").values_list("ts", "val")) == [(1000, {"a": 1}), (2000, {"a": 2})]


def test_records_store_is_idempotent_per_message_and_index(bucket):
    rows = [(7, 0, 1000, {"a": 1})]
    records_store(bucket_pk=bucket.pk, rows=rows)
    records_store(bucket_pk=bucket.pk, rows=rows)
    assert Record.objects.count() == 1


def test_disabled_bucket_skips_and_counts(bucket):
    bucket.enabled = False
    bucket.save()
    assert records_store(bucket_pk=bucket.pk, rows=[(1, 0, 1000, {"a": 1})]) == 0
    bucket.refresh_from_db()
    assert bucket.skipped_writes == 1
    assert not Record.objects.exists()
