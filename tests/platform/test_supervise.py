"""platform/supervise.py restarts a process that exits on its own and stops with it on SIGTERM."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.stack import ROOT, wait_until

# Exits with an error on its first run (as a worker hit by a broker bug would), then stays up.
CHILD = """
import os, sys, time
runs = sys.argv[1]
n = len(open(runs).read()) if os.path.exists(runs) else 0
open(runs, "a").write("x")
if n == 0:
    sys.exit(3)
open(runs + ".pid", "w").write(str(os.getpid()))
time.sleep(60)
"""


def test_restarts_a_child_that_exits_and_forwards_sigterm(tmp_path):
    runs = tmp_path / "runs"
    supervisor = subprocess.Popen([sys.executable, "-m", "platform.supervise", "child", "--",
                                   sys.executable, "-c", CHILD, str(runs)],
                                  cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: runs.with_suffix(".pid").exists(), timeout=20, what="the restarted child")
        assert runs.read_text() == "xx"  # it ran twice: exited once, restarted
        child_pid = int(runs.with_suffix(".pid").read_text())
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 128 + signal.SIGTERM  # the child's, as a shell reports it
        time.sleep(0.2)
        assert not os.path.exists(f"/proc/{child_pid}") or "Z" in Path(f"/proc/{child_pid}/stat").read_text().split()[2]
        assert b"child exited with code 3; restarting it" in supervisor.stderr.read()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
