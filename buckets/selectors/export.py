"""Export: a bucket's records as CSV, JSON or NDJSON, generated lazily for a streaming response.

Memory stays flat whatever the size: rows come from a server-side cursor on PostgreSQL (Django's
`.iterator(chunk_size=...)` declares a named cursor there) and leave as ~64 KB text chunks. For
JSON and NDJSON the stored jsonb text is copied as it is, never decoded. CSV needs its columns
before the first row, so a first pass asks the database for the distinct top-level keys.

Row order is ascending ts (then insertion order). JSON is one array of {"ts", "val"} objects,
NDJSON one such object per line; `ts` is epoch ms, or ISO 8601 UTC with milliseconds
("2024-01-31T12:00:00.000Z") when timestamp_format=iso. CSV: header `ts` then the union of the
records' top-level keys, sorted; strings as they are, other values as JSON text (so nested
objects and arrays are JSON), a missing key or null as an empty cell.

A CSV is opened in a spreadsheet, which runs a cell that starts with =, +, -, @, a tab or a carriage
return as a formula (=HYPERLINK(...) that sends the sheet's data away, =cmd|...): a device writes
what it likes into its bucket, keys included. Such a string, in a cell or the header, leaves with a
' in front (OWASP's advice), which the spreadsheet shows as text; numbers are JSON text and are left
as they are (-5 is not a formula). JSON and NDJSON carry every string exactly.
"""
import csv
import datetime
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from buckets.models import Bucket, Record
from buckets.selectors.query import records_in_range
from platform import backends

EXPORT_FORMATS = ("csv", "json", "ndjson")
TIMESTAMP_FORMATS = ("iso", "milliseconds")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json",
                 "ndjson": "application/x-ndjson"}

_CHUNK_CHARS = 64 * 1024
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def iso_ms(ts: int) -> str:
    moment = _EPOCH + datetime.timedelta(milliseconds=ts)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"


def export_columns(*, bucket: Bucket, min_ts: int | None = None, max_ts: int | None = None) -> list[str]:
    """The sorted union of the top-level keys of the records in range, computed in the database
    (one pass, memory proportional to the number of distinct keys), in its JSON dialect
    (backends.EXPORT_KEYS_JSONB: PostgreSQL's jsonb functions, else SQLite's json_each)."""
    table = connection.ops.quote_name(Record._meta.db_table)
    where, params = "r.bucket_id = %s", [bucket.pk]
    # Non-objects (never written by this code, possible through the admin) have no keys.
    if min_ts is not None:
        where, params = where + " AND r.ts >= %s", params + [min_ts]
    if max_ts is not None:
        where, params = where + " AND r.ts <= %s", params + [max_ts]
    if backends.EXPORT_KEYS_JSONB:
        sql = (f"SELECT DISTINCT k FROM {table} r CROSS JOIN LATERAL jsonb_object_keys("
               f"CASE WHEN jsonb_typeof(r.val) = 'object' THEN r.val ELSE '{{}}'::jsonb END) k WHERE {where}")
    else:
        sql = (f"SELECT DISTINCT j.key FROM {table} r, json_each(r.val) j "
               f"WHERE {where} AND json_type(r.val) = 'object'")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(key for (key,) in cursor if key != "ts")


def _rows(bucket: Bucket, min_ts: int | None, max_ts: int | None) -> Iterator[tuple[int, str]]:
    """(ts, val as JSON text) in ascending order from a server-side cursor."""
    qs = records_in_range(bucket=bucket, min_ts=min_ts, max_ts=max_ts).order_by("ts", "id")
    rows = qs.annotate(raw=Cast("val", output_field=TextField())).values_list("ts", "raw")
    # Inside a transaction the cursor streams as the client reads. In autocommit Django declares
    # it WITH HOLD, and PostgreSQL then runs the whole query and stores its result before the
    # first row. The transaction ends when the stream does (or is closed by a client leaving).
    with transaction.atomic():
        yield from rows.iterator(chunk_size=5000)


def _chunked(pieces: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= _CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def _json_lines(bucket: Bucket, min_ts: int | None, max_ts: int | None, iso: bool,
                separator: str) -> Iterator[str]:
    for ts, raw in _rows(bucket, min_ts, max_ts):
        stamp = f'"{iso_ms(ts)}"' if iso else str(ts)
        yield f'{separator}{{"ts": {stamp}, "val": {raw}}}'


def _json_array(bucket: Bucket, min_ts: int | None, max_ts: int | None, iso: bool) -> Iterator[str]:
    yield "["
    first = True
    for line in _json_lines(bucket, min_ts, max_ts, iso, "\n"):
        yield line if first else "," + line
        first = False
    yield "\n]\n"


def _ndjson(bucket: Bucket, min_ts: int | None, max_ts: int | None, iso: bool) -> Iterator[str]:
    for line in _json_lines(bucket, min_ts, max_ts, iso, ""):
        yield line + "\n"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _text(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _csv(bucket: Bucket, min_ts: int | None, max_ts: int | None, iso: bool) -> Iterator[str]:
    columns = export_columns(bucket=bucket, min_ts=min_ts, max_ts=max_ts)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # The csv module quotes a field with a \n (the line terminator) but not one with a lone \r, which
    # a reader by RFC 4180 (Excel, csv.reader) takes for the end of the row: a row with a \r in it
    # has every field quoted.
    quoting_all = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def write(row: list[Any]) -> str:
        out.seek(0)
        out.truncate()
        (quoting_all if any("\r" in cell for cell in row[1:]) else writer).writerow(row)
        return out.getvalue()

    yield write(["ts", *map(_text, columns)])
    loads = json.loads
    for ts, raw in _rows(bucket, min_ts, max_ts):
        val = loads(raw)
        if not isinstance(val, dict):
            val = {}
        yield write([iso_ms(ts) if iso else ts, *(_cell(val.get(c)) for c in columns)])


def export_stream(*, bucket: Bucket, fmt: str, timestamp_format: str = "milliseconds", min_ts: int | None = None,
                  max_ts: int | None = None) -> Iterator[str]:
    """An iterator of text chunks holding the export (see the module docstring for the formats).
    Nothing is read before the first chunk is asked for; read-only."""
    iso = timestamp_format == "iso"
    pieces = {"csv": _csv, "json": _json_array, "ndjson": _ndjson}[fmt](bucket, min_ts, max_ts, iso)
    return _chunked(pieces)
