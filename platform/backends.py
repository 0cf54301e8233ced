"""Database-dependent strategies, decided once here when the process starts, so that services ask
a named capability (`backends.SWEEP_SQL`) and never test `connection.vendor` themselves.

The product runs on PostgreSQL in production and on SQLite in embedded mode (`make run`). A
second, PostgreSQL-only path is kept only where PostgreSQL's own SQL is materially faster than
the portable path, measured (README.md, "Performance"); everything else runs one path on both.
`make test` runs the behaviour tests marked `parity` a second time on a SQLite database, so both
sides of each choice below give the same answers.

The cache's kind is decided next to CACHE_URL, in settings (CACHE_SHARED)."""
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# From the database backend's class: no connection is opened to read it.
POSTGRESQL: bool = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"

# platform/database/prepared.py: the callback's statement as a prepared statement, planned once per
# connection. Measured per callback in process (docs/performance.md, "Intake levers"): PostgreSQL CPU 0.81-0.92
# -> 0.27-0.44 ms and Python 1.24-1.42 -> 0.94-1.30 ms (no client-side binding). Off with
# DATABASE_PREPARED_STATEMENTS=false (settings.py: for transaction poolers).
PREPARED_STATEMENTS: bool = POSTGRESQL and settings.DATABASE_PREPARED_STATEMENTS

# devices/accept.py: the callback in one autocommit statement (the common case) or two in a
# transaction, instead of the ORM's queries and savepoints. Measured per callback in process
# (README "Performance / Ingest"): two statements took Python CPU from 4.29 to 2.00 ms and
# PostgreSQL CPU from 1.43 to 1.15 ms; one statement for the common case then 0.98 -> 0.83 ms and
# 0.68 -> 0.52 ms. Both paths pick the answer with the same function (devices/accept.py
# answer_pick).
CALLBACK_SQL: bool = POSTGRESQL

# devices/ingest.py: an ingest batch holds its partitions with transaction-level advisory locks,
# so that several worker processes store different devices at once (1.77x with two processes,
# README "Intake levers"). SQLite has one writer at a time anyway: a batch takes every partition.
INGEST_PARTITION_LOCKS: bool = POSTGRESQL

# platform/database/bulk.py: the storage worker's bucket records and deliveries (and the sender's
# attempts) sent as binary arrays to INSERT ... SELECT FROM unnest(...) instead of bulk_create's text
# arrays (every JSON value escaped into an array literal and parsed back): ~25 -> ~6 us of client
# CPU per row (docs/performance.md, "Intake levers").
BULK_BINARY: bool = POSTGRESQL

# devices/services.py: the connection-timeout sweep as one statement per 20,000 devices (claim,
# flip, record): 100,000 devices in 1.6-1.8 s instead of 9.8 s (README "Performance / Ingest"), then
# 0.8 s with a device row that takes HOT updates (tests/perf/bench_sweep.py).
SWEEP_SQL: bool = POSTGRESQL

# alarms/evaluation.py: the rules' confirmation rows saved in one UPDATE ... FROM (VALUES ...);
# Django's bulk_update (a CASE per field and row) took about 0.4 s for 100 rows
# (tests/perf/bench_alarms.py).
RULE_STATES_SQL: bool = POSTGRESQL

# buckets/selectors/aggregate.py: aggregation in SQL (a skip scan for the window, one column per
# key) against the portable path, which walks the records in Python. Measured on PostgreSQL with
# 200,000 records (one every 30 s, four keys), same run, busy 2-core machine: the full range by 1d
# took 0.86 s in SQL against 1.32 s in Python, the latest 100 hours 69 ms against 151 ms; and the
# Python path moves every record into the web process. Faster by 1.5-2.2x: kept.
AGGREGATE_SQL: bool = POSTGRESQL

# buckets/selectors/export.py: the CSV header (the union of the records' top-level keys) is one
# SELECT DISTINCT with each database's JSON functions (jsonb_object_keys, json_each): the same
# query in two dialects, not two strategies. Reading the keys in Python instead decodes every
# record once more before the first row: 0.78 s against 0.30 s in SQL for 200,000 records on
# PostgreSQL (same run as above), where the whole CSV export took 2.5 s. Kept.
EXPORT_KEYS_JSONB: bool = POSTGRESQL
