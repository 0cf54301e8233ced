"""Retention deletes exactly what is older than the period, in bounded batches."""
from buckets.models import Bucket, Record
from buckets.services import UNIT_MS, buckets_apply_retention, records_expire, records_store

NOW = 1_800_000_000_000
DAY = 86_400_000


def _fill(bucket, stamps):
    records_store(bucket_pk=bucket.pk, rows=[(None, i, ts, {"i": i}) for i, ts in enumerate(stamps)])


def test_retention_deletes_exactly_what_is_older(bucket, bob):
    bucket.retention_period, bucket.retention_unit = 2, "days"
    bucket.save()
    keep_all = Bucket.objects.create(owner=bob, bucket_id="forever")
    cutoff = NOW - 2 * DAY
    _fill(bucket, [cutoff - 1, cutoff - DAY, cutoff, cutoff + 1, NOW])
    _fill(keep_all, [0, 1])
    report = buckets_apply_retention(now=NOW)
    assert report == {bucket.pk: 2}
    assert sorted(Record.objects.filter(bucket=bucket).values_list("ts", flat=True)) == [cutoff, cutoff + 1, NOW]
    assert Record.objects.filter(bucket=keep_all).count() == 2


def test_retention_works_in_batches(bucket):
    _fill(bucket, range(25))
    assert records_expire(bucket_pk=bucket.pk, before_ts=20, batch_size=6, max_batches=1) == 6
    assert records_expire(bucket_pk=bucket.pk, before_ts=20, batch_size=6) == 14
    assert sorted(Record.objects.values_list("ts", flat=True)) == list(range(20, 25))


def test_retention_with_small_batches_finishes_everything(bucket):
    bucket.retention_period, bucket.retention_unit = 1, "minutes"
    bucket.save()
    _fill(bucket, range(50))
    assert buckets_apply_retention(now=UNIT_MS["minutes"] + 45, batch_size=4) == {bucket.pk: 45}
    assert Record.objects.count() == 5


def test_retention_task_runs(bucket):
    from buckets.tasks import retention_task
    bucket.retention_period, bucket.retention_unit = 1, "years"
    bucket.save()
    _fill(bucket, [0, 1])
    assert retention_task.run() == {bucket.pk: 2}
