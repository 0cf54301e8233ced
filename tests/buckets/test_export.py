"""Export in each format, parsed back and compared with what was stored. A parity suite (`make
test` runs it on PostgreSQL and on SQLite)."""
import csv
import io
import json

import pytest

from buckets.selectors.export import iso_ms
from buckets.services import records_store

pytestmark = pytest.mark.parity

ROWS = [
    (1_700_000_000_000, {"t": 20.5, "s": "hello, \"world\"", "nested": {"a": [1, 2]}}),
    (1_700_000_000_001, {"t": 21, "flag": True, "none": None}),
    (1_700_000_060_123, {"u": "ünïcode\nline"}),
]


@pytest.fixture
def stored(bucket):
    records_store(bucket_pk=bucket.pk, rows=[(None, i, ts, val) for i, (ts, val) in enumerate(reversed(ROWS))])
    return ROWS


def _get(api, alice, **params):
    response = api(alice).get("/v1/users/alice/buckets/b1/export", params)
    assert response.status_code == 200, response.content
    return response, b"".join(response.streaming_content).decode()


def test_iso_timestamps():
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1_700_000_060_123) == "2023-11-14T22:14:20.123Z"


@pytest.mark.parametrize("timestamp_format", ["milliseconds", "iso"])
def test_json_export_parses_back(alice, api, stored, timestamp_format):
    response, body = _get(api, alice, format="json", timestamp_format=timestamp_format)
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="b1.json"'
    stamp = iso_ms if timestamp_format == "iso" else (lambda ts: ts)
    assert json.loads(body) == [{"ts": stamp(ts), "val": val} for ts, val in stored]


def test_ndjson_export_parses_back_with_range(alice, api, stored):
    response, body = _get(api, alice, format="ndjson", min_ts=1_700_000_000_001, max_ts=1_700_000_060_123)
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"] == 'attachment; filename="b1.ndjson"'
    assert [json.loads(line) for line in body.splitlines()] == [{"ts": ts, "val": val} for ts, val in stored[1:]]


def test_csv_export_has_union_of_keys_and_json_for_nested(alice, api, stored):
    response, body = _get(api, alice, format="csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="b1.csv"'
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["ts", "flag", "nested", "none", "s", "t", "u"]
    assert rows[1] == ["1700000000000", "", '{"a":[1,2]}', "", 'hello, "world"', "20.5", ""]
    assert rows[2] == ["1700000000001", "true", "", "", "", "21", ""]
    assert rows[3] == ["1700000060123", "", "", "", "", "", "ünïcode\nline"]


def test_csv_with_iso_and_range(alice, api, stored):
    _, body = _get(api, alice, format="csv", timestamp_format="iso", max_ts=1_700_000_000_000)
    assert list(csv.reader(io.StringIO(body))) == [
        ["ts", "nested", "s", "t"], ["2023-11-14T22:13:20.000Z", '{"a":[1,2]}', 'hello, "world"', "20.5"]]


def test_csv_text_a_spreadsheet_would_run_as_a_formula_leaves_as_text(alice, api, bucket):
    # A device writes what it likes, keys included; JSON keeps the strings exact.
    val = {"=key": "=HYPERLINK(\"http://x\")", "a": "+1", "b": "-x", "c": "@SUM(A1)", "d": "\tx", "e": "\rx",
           "n": -5, "ok": "a=b"}
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1, val)])
    rows = list(csv.reader(io.StringIO(_get(api, alice, format="csv")[1], newline="")))
    assert rows == [["ts", "'=key", "a", "b", "c", "d", "e", "n", "ok"],
                    ["1", "'=HYPERLINK(\"http://x\")", "'+1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "-5", "a=b"]]
    assert json.loads(_get(api, alice, format="json")[1]) == [{"ts": 1, "val": val}]


def test_csv_a_carriage_return_in_a_value_or_a_key_stays_inside_its_field(alice, api, bucket):
    # Unquoted, a lone \r ended the row for any RFC 4180 reader.
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1, {"a\rb": "x\ry", "c": 1}), (None, 1, 2, {"c": 2})])
    body = _get(api, alice, format="csv")[1]
    assert list(csv.reader(io.StringIO(body, newline=""))) == [["ts", "a\rb", "c"], ["1", "x\ry", "1"], ["2", "", "2"]]
    assert body.endswith("\n2,,2\n")


def test_empty_exports(alice, api, bucket):
    assert json.loads(_get(api, alice, format="json")[1]) == []
    assert _get(api, alice, format="ndjson")[1] == ""
    assert _get(api, alice, format="csv")[1] == "ts\n"


@pytest.mark.parametrize("params, needle", [
    ({"format": "xml"}, "csv, json, ndjson"), ({"timestamp_format": "unix"}, "iso, milliseconds"),
    ({"min_ts": 5, "max_ts": 1}, "min_ts must not be after max_ts"), ({"min_ts": "soon"}, "epoch milliseconds"),
])
def test_bad_export_parameters_are_400(alice, api, bucket, params, needle):
    response = api(alice).get("/v1/users/alice/buckets/b1/export", params)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]
