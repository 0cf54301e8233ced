"""How fast this machine is right now: the line every benchmark starts its figures with."""
import time

from tests.perf.stack.config import PG
from tests.perf.stack.processes import say


def machine_baseline(pg=PG):
    """The same yardstick as bench_buckets.py: how fast this machine is right now, so runs on a
    busy or different machine can be compared. `pg`: the PostgreSQL server's URL without a database."""
    import psycopg

    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop_ms = (time.perf_counter() - start) * 1000
    with psycopg.connect(f"{pg}/postgres") as conn:
        start = time.perf_counter()
        conn.execute("SELECT count(*) FROM generate_series(1, 1000000)").fetchone()
        count_ms = (time.perf_counter() - start) * 1000
    return loop_ms, count_ms


def say_baseline():
    """Prints machine_baseline(), the line every benchmark starts its figures with."""
    loop_ms, count_ms = machine_baseline()
    say(f"machine baseline: Python 10M-iteration add loop {loop_ms:.0f} ms; PostgreSQL count(*) of 1M generated "
        f"rows {count_ms:.0f} ms")
