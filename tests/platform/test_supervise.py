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


# A role that will not stop on SIGTERM, with a child of its own (as a Celery worker's pool child).
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running; a reaped one is gone.
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_make_runs_stop_leaves_no_process_behind(tmp_path):
    """Stopping `make run` left a deliveries worker running with no parent: runstack killed the
    supervisor after the grace period, not the worker under it. Each role now runs in a group of
    its own, stopped through its main process, and what is left after the grace period is killed
    with its group."""
    from platform.management.commands.runstack import stack_stop

    child_pid_file = tmp_path / "child"
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    stubborn = subprocess.Popen([sys.executable, "-c", STUBBORN, str(child_pid_file)], start_new_session=True)
    wait_until(lambda: child_pid_file.exists() and child_pid_file.read_text(), timeout=20, what="the role's child")
    grandchild = int(child_pid_file.read_text())
    stack_stop([polite, stubborn], grace=2.0)
    assert polite.returncode == -signal.SIGTERM  # stopped by its SIGTERM, not killed
    assert stubborn.returncode == -signal.SIGKILL
    # SIGKILL sent to the group: the kernel ends the grandchild as soon as it is scheduled, which
    # on a loaded machine is after stack_stop returns (seen under a concurrent test run).
    wait_until(lambda: not _alive(grandchild), timeout=5, what="the grandchild's end after its SIGKILL")
