"""A statement run as a PostgreSQL prepared statement, for the hot path.

Django binds parameters on the client (psycopg's ClientCursor, which never prepares), so
PostgreSQL parses and plans every statement it is sent. The device callback is one large
statement (devices/accept.py) whose planning cost more than its execution: run here with
server-side binding and `prepare=True`, it is prepared once per connection, and planned once
(settings: plan_cache_mode=force_generic_plan, which only prepared statements heed); later
callbacks bind and execute it. Django's connection handling stays around it: the health check,
the connection opened on demand, database errors translated (and marked, so the connection is
checked before reuse). Measured in the README's "Intake levers". With prepared statements off
(platform/backends.py PREPARED_STATEMENTS), an ordinary Django cursor runs it."""
from typing import Any

import psycopg
from django.db import connection

from platform import backends
from platform.database import db_connection


def row_prepared(sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """The one row `sql` returns (a statement that always returns one)."""
    if not backends.PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    else:
        db = db_connection()
        db.close_if_health_check_failed()
        db.ensure_connection()
        with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
            cursor.execute(sql, params, prepare=True)
            row = cursor.fetchone()
    if row is None:
        raise ValueError("the statement returned no row")
    return row
