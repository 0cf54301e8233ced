"""Keeps one process running: `python -m platform.supervise NAME -- COMMAND...` restarts COMMAND
whenever it exits on its own, and passes SIGTERM/SIGINT on to it (then exits with its code).

Why: a Celery worker can exit with "Unrecoverable error" when its Redis connection drops at the
wrong moment (a race in kombu while it closes the dead connection; seen in
tests/e2e/test_faults_ingest.py). The database holds all the work, so a restarted worker carries
on where the old one stopped; what matters is that one is always running. `manage.py runstack`
runs the worker and beat under this; docker-compose's `restart: unless-stopped` (or systemd's
Restart=) does the same in production.
"""
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

MIN_UPTIME = 5.0  # a child that dies sooner than this is restarted after a pause, not in a loop


def supervise(name: str, command: Sequence[str]) -> int:
    child: subprocess.Popen[bytes] | None = None
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        code = child.wait()
        if stopping:
            return code if code >= 0 else 128 - code  # killed by a signal: the shell's 128 + N
        print(f"supervise: {name} exited with code {code}; restarting it", file=sys.stderr, flush=True)
        if time.monotonic() - started < MIN_UPTIME:
            time.sleep(1.0)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: python -m platform.supervise NAME -- COMMAND [ARGS...]")
    sys.exit(supervise(sys.argv[1], sys.argv[3:]))
