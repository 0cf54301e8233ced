"""Load from wrk (Debian's HTTP benchmark tool) on the callback URL, and its figures."""
import re
import subprocess

from tests.perf.stack.config import ENV, OUT, USER, WRK_CONNECTIONS


def wrk(port, seconds, lua=None, connections=WRK_CONNECTIONS):
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if lua:
        cmd += ["-s", str(lua)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}/v3/users/{USER}/devices/d0/callback/data"],
                         check=False, capture_output=True, text=True,
                         env={**ENV, "PERF_TOKENS": str(OUT / "tokens.txt"), "PERF_USER": USER}).stdout
    requests_total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    ok = requests_total - (int(bad.group(1)) if bad else 0)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"requests": requests_total, "ok": ok, "rate": requests_total / seconds, "ok_rate": ok / seconds,
            "errors": errors.group(1) if errors else "none", "raw": out}


def p99(result):
    found = re.search(r"Latency Distribution.*?99%\s+(\S+)", result["raw"], re.DOTALL)
    return found.group(1) if found else "?"
