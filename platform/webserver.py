"""The web server: Granian, a Rust HTTP server, running `platform.wsgi` on a few Python threads
per worker process. One place for its command line, so `make run`, docker-compose, the tests and
the benchmarks run it alike: `python -m platform.webserver --bind 0.0.0.0:8000 --workers 2`.

Granian replaced gunicorn (gthread): it parses HTTP in Rust, and the platform carried about a
quarter more callbacks per second on the same cores (README, "Intake levers"). What gunicorn's
setup protected, and how it is kept:
- slow request headers: Granian drops a connection whose headers take longer than
  REQUEST_HEADER_TIMEOUT seconds (gunicorn had no such limit);
- slow request bodies: platform/deadline.py answers 408 past REQUEST_BODY_TIMEOUT;
- a worker that dies is started again (`--respawn-failed-workers`), and a stop waits up to five
  seconds for requests in flight (`--workers-kill-timeout`, gunicorn's `--graceful-timeout`);
- the access log goes through platform/logfilters.py, which masks the secrets a URL can carry.
HTTP/1.1 only: the device firmware this platform serves speaks nothing else, and a reverse proxy
in front terminates HTTP/2 and TLS (docs/operations.md)."""
import argparse
import os
import sys
from collections.abc import Mapping

THREADS = 4  # per worker: they cover the database and Redis round trips (README, Performance)


def header_timeout_ms(environ: Mapping[str, str]) -> int:
    """REQUEST_HEADER_TIMEOUT (seconds, default 10) within what Granian accepts: 1 to 60 s."""
    value = environ.get("REQUEST_HEADER_TIMEOUT") or "10"
    try:
        seconds = int(value)
    except ValueError:
        raise SystemExit(f"REQUEST_HEADER_TIMEOUT={value!r}: give a whole number of seconds (1 to 60).") from None
    return 1000 * min(60, max(1, seconds))


def web_concurrency(environ: Mapping[str, str]) -> int:
    """WEB_CONCURRENCY: web server processes, default 2."""
    value = environ.get("WEB_CONCURRENCY") or "2"
    if not value.strip().isdigit() or int(value) < 1:
        raise SystemExit(f"WEB_CONCURRENCY={value!r}: give a whole number of processes, at least 1 (about one per core).")
    return int(value)


def web_command(bind: str, workers: int, threads: int = THREADS, access_log: bool = True,
                environ: Mapping[str, str] = os.environ, app: str = "platform.wsgi:application") -> list[str]:
    """The argv that serves the platform (or, for the benchmarks, another WSGI `app`) on `bind`
    ("host:port", "[::]:port"); `environ` is the environment it will run in (REQUEST_HEADER_TIMEOUT)."""
    host, _, port = bind.rpartition(":")
    return [sys.executable, "-m", "granian", "--interface", "wsgi", app,
            "--host", host.strip("[]") or "127.0.0.1", "--port", port, "--workers", str(workers),
            "--blocking-threads", str(threads), "--http", "1", "--no-ws",
            "--http1-header-read-timeout", str(header_timeout_ms(environ)),
            "--respawn-failed-workers", "--workers-kill-timeout", "5", "--log-level", "info",
            "--access-log" if access_log else "--no-access-log"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m platform.webserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", default=os.environ.get("BIND", "127.0.0.1:8000"))
    parser.add_argument("--workers", type=int, default=web_concurrency(os.environ),
                        help="processes, about one per core (default: WEB_CONCURRENCY or 2)")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per process")
    parser.add_argument("--no-access-log", action="store_true")
    options = parser.parse_args(argv)
    command = web_command(options.bind, options.workers, options.threads, access_log=not options.no_access_log)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
