"""Real processes for end-to-end tests: the web server (Granian) and Celery started as the production roles are."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

from platform.webserver import web_command

ROOT = Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def live_database_url():
    """The URL of the test database pytest-django created, for processes outside the test."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_until(check, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Stack:
    """Starts web and/or worker processes with the given environment; stop() ends them all."""

    def __init__(self, env=None, tmp_path=None, inherit=True):
        """`env` adds to this process's environment, or replaces it with inherit=False."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = dict(os.environ) if inherit else {}
        self.env = {**base, "PYTHONPATH": str(ROOT), "SITE_URL": self.url, **(env or {})}
        self.logdir = Path(tmp_path or ROOT / "var")
        self.processes = {}

    def start_web(self, workers=2):
        self._spawn("web", web_command(f"127.0.0.1:{self.port}", workers, environ=self.env))
        wait_until(self._web_up, timeout=30, what="the web server to answer")
        return self

    def start_worker(self, name="worker", queues="ingest,deliveries,maintenance", extra=(), supervised=False):
        """supervised=True runs it as production does: restarted if it exits (platform/supervise.py)."""
        wrapper = [sys.executable, "-m", "platform.supervise", name, "--"] if supervised else []
        self._spawn(name, [*wrapper, sys.executable, "-m", "celery", "-A", "platform", "worker", "-Q", queues,
                           "--concurrency", "2", "--loglevel", "INFO", "-n", f"{name}-{self.port}@%h", *extra])
        return self

    def start_beat(self):
        self._spawn("beat", [sys.executable, "-m", "celery", "-A", "platform", "beat", "--loglevel", "INFO",
                             "--schedule", str(self.logdir / f"beat-{self.port}")])
        return self

    def _spawn(self, name, cmd):
        log = open(self.logdir / f"{name}-{self.port}.log", "wb")  # noqa: SIM115  the process keeps it
        self.processes[name] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def _web_up(self):
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code in (200, 503)
        except (requests.ConnectionError, requests.Timeout):  # a worker still booting on a busy machine
            return False

    def log(self, name):
        return (self.logdir / f"{name}-{self.port}.log").read_text(errors="replace")

    def stop(self, name=None, sig=None):
        names = [name] if name else list(self.processes)
        for n in names:
            proc = self.processes.pop(n)
            if sig:
                proc.send_signal(sig)
            else:
                proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
