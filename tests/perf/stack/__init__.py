"""What the benchmarks share: the production stack on this machine (processes, database, load
from wrk) and the machine's own speed. `bench_ingest.py` is its main user; the other benchmarks
import it too. Set a benchmark's PERF_* knobs in os.environ before importing it."""
from tests.perf.stack.baseline import machine_baseline, say_baseline
from tests.perf.stack.config import (
    DB,
    DEVICES,
    ENV,
    HERE,
    OUT,
    PG,
    QUICK,
    REDIS_DBS,
    ROOT,
    SECONDS,
    USER,
    WEB_THREADS,
    WEB_WORKERS,
    WRK_CONNECTIONS,
)
from tests.perf.stack.data import counts, database_reset, pg_counters, seed, sweep_benchmark, watch_records
from tests.perf.stack.processes import (
    cpu_seconds,
    gunicorn_command,
    load,
    peak_memory_mb,
    processes,
    run_main,
    say,
    spawn,
    stop,
    wait_http,
    web,
)
from tests.perf.stack.wrk import p99, wrk
from tests.stack import free_port  # the end-to-end tests' own

__all__ = [
    "DB", "DEVICES", "ENV", "HERE", "OUT", "PG", "QUICK", "REDIS_DBS", "ROOT", "SECONDS", "USER", "WEB_THREADS",
    "WEB_WORKERS", "WRK_CONNECTIONS", "counts", "cpu_seconds", "database_reset", "free_port",
    "gunicorn_command", "load", "machine_baseline", "p99", "peak_memory_mb", "pg_counters", "processes",
    "run_main", "say", "say_baseline", "seed", "spawn", "stop", "sweep_benchmark", "wait_http", "watch_records",
    "web", "wrk"
]
