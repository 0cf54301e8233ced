"""The stack's processes: started, stopped, waited for, and what they cost (CPU, memory)."""
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.perf.stack.config import ENV, OUT, ROOT, WEB_THREADS, WEB_WORKERS

processes = {}


def say(text=""):
    print(text, flush=True)


def spawn(name, cmd, env=None):
    log = open(OUT / f"{name}.log", "wb")  # noqa: SIM115  the process keeps it
    processes[name] = subprocess.Popen(cmd, cwd=ROOT, env={**ENV, **(env or {})}, stdout=log,
                                       stderr=subprocess.STDOUT)
    return processes[name]


def stop(name):
    proc = processes.pop(name)
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def wait_http(port, path="/healthz", timeout=30):
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}{path}", timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"nothing answered on port {port}")


def gunicorn_command(app, port, workers, threads="1", worker_class="sync"):
    """gunicorn (not a dependency: `pip install gunicorn`) serving the WSGI module `app`: the server
    before Granian, and with sync workers the setup of the issue's own figures."""
    return [sys.executable, "-m", "gunicorn", f"{app}:application", "--bind", f"127.0.0.1:{port}", "--workers",
            str(workers), "--threads", str(threads), "--worker-class", worker_class, "--log-level", "warning",
            "--backlog", "2048"]


def web(name, app, port):
    """The production web server (platform/webserver.py) serving `app`, without its access log (a
    line per request would be the log's cost, not the platform's); or gunicorn's sync workers
    (PERF_WEB=gunicornsync)."""
    from platform.webserver import web_command

    if os.environ.get("PERF_WEB") == "gunicornsync":
        return spawn(name, gunicorn_command(app, port, WEB_WORKERS))
    return spawn(name, web_command(f"127.0.0.1:{port}", int(WEB_WORKERS), int(WEB_THREADS), access_log=False,
                                   environ=ENV, app=f"{app}:application"))


def peak_memory_mb(pid):
    """Peak resident memory (VmHWM) of a process and its children, in MB, summed."""
    total = 0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds():
    """CPU seconds (user + system) used so far by each benchmark process with its children, and by
    every postgres and redis-server process on the machine, by name."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                raw = (entry / "stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1:raw.rindex(")")]
            fields = raw.rsplit(")", 1)[1].split()
            stats[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    totals = {}
    for name, proc in processes.items():
        family = {proc.pid}
        for _ in range(3):  # children and grandchildren
            family |= {pid for pid, (_, ppid, _) in stats.items() if ppid in family}
        totals[name] = sum(stats[pid][2] for pid in family if pid in stats)
    totals["postgres"] = sum(cpu for comm, _, cpu in stats.values() if comm.startswith("postgres"))
    totals["redis"] = sum(cpu for comm, _, cpu in stats.values() if comm.startswith("redis"))
    return totals


def load():
    return "load average " + ", ".join(Path("/proc/loadavg").read_text().split()[:3])


def run_main(main):
    """Runs a benchmark's main() and stops every process it started, however it ends."""
    try:
        main()
    finally:
        for name in list(processes):
            stop(name)
