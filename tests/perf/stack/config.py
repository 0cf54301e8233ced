"""The benchmarks' settings: paths, knobs and the environment every process of the stack runs in.
Importing it points this process's Django settings at the benchmark's database and Redis."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
HERE = ROOT / "tests" / "perf"
OUT = HERE / "results"
PG = os.environ.get("PERF_PG", "postgres://postgres@127.0.0.1:5432")
DB = os.environ.get("PERF_DB", "perf_ingest")
SECONDS = int(os.environ.get("PERF_SECONDS", "60"))
DEVICES = int(os.environ.get("PERF_DEVICES", "1000"))
WEB_WORKERS = os.environ.get("WEB_WORKERS", "2")
WEB_THREADS = os.environ.get("WEB_THREADS", "4")
WRK_CONNECTIONS = os.environ.get("WRK_CONNECTIONS", "64")
QUICK = os.environ.get("PERF_QUICK") == "1"  # saturation and CPU split only: for comparing levers
REDIS_DB = int(os.environ.get("PERF_REDIS_DB", "14"))
REDIS_DBS = (REDIS_DB, REDIS_DB + 1)  # the Celery broker's and the cache's, flushed
USER = "perf"

# What this process (Django's settings, when a benchmark loads them) and every process of the stack run with.
_SETTINGS = {
    "DJANGO_SETTINGS_MODULE": "platform.settings",
    "DATABASE_URL": f"{PG}/{DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[0]}",
    "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[1]}",
    "DEBUG": "false",
    "SECRET_KEY": "benchmark-only-secret-key-benchmark-only-secret-key",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "ENDPOINTS_ALLOW_PRIVATE_IPS": "true",
    "DEVICE_RATE_LIMIT": os.environ.get("DEVICE_RATE_LIMIT", "600"),  # the production default: counted, never hit
    "LOG_LEVEL": "WARNING",
    "VAR_DIR": str(OUT / "var"),
}
ENV = {**os.environ, "PYTHONPATH": str(ROOT), **_SETTINGS}
os.environ.update(_SETTINGS)
