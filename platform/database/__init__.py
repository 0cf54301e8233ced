from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def db_connection() -> BaseDatabaseWrapper:
    """This thread's default database connection itself. `django.db.connection` is a proxy that
    looks the connection up again on every attribute (about 1.6 us each): on paths that touch it
    per row or per callback, take it once from here."""
    return connections[DEFAULT_DB_ALIAS]
