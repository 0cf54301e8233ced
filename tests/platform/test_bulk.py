"""rows_insert (platform/database/bulk.py): the storage worker's inserts store what bulk_create
stores, on both databases, and skip rows that would conflict."""
import pytest
from django.utils import timezone

from buckets.models import Record
from endpoints.models import Attempt, Connection, Delivery
from platform.database.bulk import rows_insert

pytestmark = pytest.mark.parity

AWKWARD = {"quote": 'say "hi"', "backslash": "a\\b", "comma,brace": "{x},[y]", "unicode": "héllo ✓ 𝄞",
           "nested": {"list": [1, 2.5, None, True, "s"]}, "null": None, "big": 12345678901234567890}


def test_json_values_are_stored_exactly(bucket):
    rows_insert(Record, ("bucket_id", "message_id", "index", "ts", "val"),
                [(bucket.pk, 1, 0, 1000, AWKWARD), (bucket.pk, 1, 1, 1001, {"n": 1})])
    assert [(r.message_id, r.index, r.ts, r.val) for r in Record.objects.order_by("index")] == [
        (1, 0, 1000, AWKWARD), (1, 1, 1001, {"n": 1})]


def test_a_row_that_conflicts_is_skipped(bucket):
    columns = ("bucket_id", "message_id", "index", "ts", "val")
    rows_insert(Record, columns, [(bucket.pk, 1, 0, 1000, {"first": True})])
    rows_insert(Record, columns, [(bucket.pk, 1, 0, 2000, {"second": True}), (bucket.pk, 2, 0, 3000, {"n": 2})])
    assert sorted((r.message_id, r.val) for r in Record.objects.all()) == [(1, {"first": True}), (2, {"n": 2})]


def test_columns_not_given_get_what_bulk_create_gives(alice):
    app = Connection.objects.create(owner=alice, name="app", destination_url="http://x.example")
    now = timezone.now()
    common = {"owner_id": alice.pk, "device_id": "d1", "device_name": "", "payload": {"a": 1}, "ts": 1,
              "next_attempt_at": now, "connection_id": app.pk, "lane": 7}
    Delivery.objects.bulk_create([Delivery(message_id=1, **common)])
    rows_insert(Delivery, ("message_id", *common), [(2, *common.values())])
    by_orm, by_rows = Delivery.objects.order_by("message_id")
    skip = {"_state", "id", "message_id", "created"}
    assert {k: v for k, v in vars(by_rows).items() if k not in skip} == \
        {k: v for k, v in vars(by_orm).items() if k not in skip}
    assert by_rows.created is not None and by_rows.state == "pending" and by_rows.last_error == ""


def test_a_given_value_stands_even_for_an_auto_now_add_column(alice):
    """The sender gives each attempt the settle's own time, from which a blame is counted too:
    bulk_create (SQLite's path before) put a new time of its own there."""
    app = Connection.objects.create(owner=alice, name="app", destination_url="http://x.example")
    delivery = Delivery.objects.create(owner_id=alice.pk, device_id="d1", payload={}, ts=1, connection_id=app.pk,
                                       lane=1, next_attempt_at=timezone.now())
    at = timezone.now() - timezone.timedelta(seconds=5)
    rows_insert(Attempt, ("delivery_id", "at", "url", "status_code", "ms", "response_body", "error"),
                [(delivery.pk, at, "http://x.example", 500, 3, "", "")])
    assert Attempt.objects.get().at == at


def test_no_rows_is_nothing(bucket):
    rows_insert(Record, ("bucket_id", "message_id", "index", "ts", "val"), [])
    assert not Record.objects.exists()
