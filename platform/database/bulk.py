"""Many rows into one table, skipping those that would conflict: the storage worker's inserts
(bucket records, deliveries) and the sender's attempts, one statement per batch.

On PostgreSQL the rows go as one array per column, in PostgreSQL's binary format, to
`INSERT ... SELECT FROM unnest(...)`. Django's bulk_create sends the same arrays as text: each
JSON value is escaped again inside its array literal on the client and parsed back on the server,
which cost ~25 us per row against ~6 us (docs/performance.md, "Intake levers"). Columns not given get what
bulk_create would give them: now for auto_now(_add), else the field's default ("" or NULL without
one). Elsewhere (SQLite), the same columns row by row in one executemany. Not bulk_create there:
it would give a given auto_now_add column (an attempt's time) a new time of its own, so the two
databases would store different values."""
import functools
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import models
from django.utils import timezone

from platform import backends
from platform.database import db_connection


def rows_insert(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Inserts `rows` (values in the order of `columns`, attribute names such as `bucket_id`);
    a row that breaks a unique constraint is skipped (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    # Not the django.db.connection proxy: through it, each value's preparation below looked the
    # connection up again, a fifth of the storage worker's CPU.
    db = db_connection()
    sql, given, rest = _statement(model, tuple(columns))
    now = timezone.now()
    constants = [field.get_db_prep_save(_default(field, now), db) for field in rest]
    if not backends.BULK_BINARY:
        with db.cursor() as cursor:
            cursor.executemany(sql, [[*(field.get_db_prep_save(value, db) for field, value in
                                        zip(given, row, strict=True)), *constants] for row in rows])
        return
    arrays = [[field.get_db_prep_save(value, db) for value in values]
              for field, values in zip(given, zip(*rows, strict=True), strict=True)]
    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, [*constants, *arrays])  # in the order of their placeholders


@functools.cache
def _statement(model: type[models.Model], columns: tuple[str, ...]) -> tuple[str, list[models.Field], list[models.Field]]:
    """(the INSERT, the fields of `columns`, the other columns' fields): the same for every batch."""
    db = db_connection()
    meta = model._meta
    given = [_concrete(meta.get_field(name)) for name in columns]
    rest = [f for f in meta.concrete_fields if f not in given and not f.primary_key]
    names = ", ".join(db.ops.quote_name(str(f.column)) for f in given + rest)
    table = db.ops.quote_name(meta.db_table)
    if not backends.BULK_BINARY:  # a row's values: the given columns', then the others' constants
        placeholders = ", ".join(["%s"] * (len(given) + len(rest)))
        return f"INSERT INTO {table} ({names}) VALUES ({placeholders}) ON CONFLICT DO NOTHING", given, rest
    unnest = ", ".join(f"%b::{f.db_type(db)}[]" for f in given)
    selected = ", ".join([f"u.c{i}" for i in range(len(given))] + [f"%b::{f.db_type(db)}" for f in rest])
    aliases = ", ".join(f"c{i}" for i in range(len(given)))
    sql = f"INSERT INTO {table} ({names}) SELECT {selected} FROM unnest({unnest}) AS u({aliases}) ON CONFLICT DO NOTHING"
    return sql, given, rest


def _concrete(field: Any) -> models.Field:
    if not isinstance(field, models.Field) or not field.concrete:
        raise TypeError(f"{field} is not a column")
    return field


def _default(field: models.Field, now: Any) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()  # as Django gives it: the default, else "" for text, else None
