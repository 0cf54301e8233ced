"""An open-loop HTTP load generator for latency at a fixed rate (wrk measures saturation).
Latency counts from each request's *scheduled* time, so a stalled server is not hidden
(no coordinated omission)."""
import asyncio
import json
import random
import time


async def _send(pool, host, port, request):
    reused = bool(pool)
    reader, writer = pool.pop() if pool else await asyncio.open_connection(host, port)
    writer.write(request)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        # A kept-alive connection the server closed while it sat idle in the pool (the web server's
        # keep-alive timeout): nothing was read, so send again on a new one, as HTTP clients do.
        if not reused or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
            raise
        writer.close()
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    pool.append((reader, writer))
    return status


def callback_request(host, user, device, token, seq):
    body = json.dumps({"temperature": round(20 + random.random() * 5, 2), "humidity": round(40 + random.random() * 20, 1),
                       "pressure": round(1000 + random.random() * 30, 1), "battery": random.randint(0, 100),
                       "rssi": -random.randint(40, 90), "seq": seq, "status": "ok", "firmware": "1.4.2",
                       "location": {"lat": 48.8566, "lon": 2.3522}}, separators=(",", ":")).encode()
    return (f"POST /v3/users/{user}/devices/{device}/callback/data HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def run_fixed_rate(host, port, user, devices, rate, seconds, seq_start=10_000_000, connections=32):
    """Sends `rate` callbacks per second for `seconds`. Returns (latencies_ms, statuses, done_at,
    lateness_ms): done_at maps seq -> wall-clock time of the 200; lateness_ms is how late this
    generator itself sent each request, so a figure it spoiled shows.

    The generator must not be what is measured. `connections` are opened before the clock starts,
    as wrk opens its own (more are opened when all are busy), and each request's task is made at
    its time: opening a connection per request in the first instant and making every request's
    task up front (14,000 of them at 700/s for 20 s) made the first 0.25 s of a run late by up to
    0.1 s on this machine, which alone set the p99 (docs/performance.md, the half-saturation latency)."""
    pool = [await asyncio.open_connection(host, port) for _ in range(connections)]
    latencies, statuses, done_at, lateness = [], {}, {}, []
    running = set()

    async def one(i, scheduled):
        device, token = devices[i % len(devices)]
        seq = seq_start + i
        try:
            status = await _send(pool, host, port, callback_request(host, user, device, token, seq))
        except (OSError, asyncio.IncompleteReadError):
            status = 0
        now = time.perf_counter()
        latencies.append((now - scheduled) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            done_at[seq] = wall0 + (now - start)

    start = time.perf_counter()
    wall0 = time.time()
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(max(0.0, time.perf_counter() - scheduled) * 1000)
        task = asyncio.create_task(one(i, scheduled))
        running.add(task)
        task.add_done_callback(running.discard)
    if running:
        await asyncio.wait(running)
    for _, writer in pool:
        writer.close()
    return latencies, statuses, done_at, lateness


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
