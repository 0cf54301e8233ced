"""Fault test on the delivery path (on failure the connection is UNREACHABLE, deliveries pause for
blamePeriod, then resume with the oldest pending message, each device's in order; nothing is
dropped).

A destination is down for two minutes, first refusing connections (40 s), then accepting and
never answering (40 s, longer than the 10 s connection timeout), then answering 500 (40 s), while
four devices attached to it and to a second, healthy destination keep posting. Real web server (Granian),
Celery worker and beat on a PRIVATE PostgreSQL and Redis (tests/e2e/faults.py), receivers on
loopback.

To finish in about three minutes it runs with blamePeriod 2 s (failures in a row double the pause,
up to 16 x blamePeriod: 32 s here) and a short retry schedule for endpoints
(ENDPOINTS_RETRY_SCHEDULE); production has 30 s of blame, which changes when a retry happens,
not what is delivered."""
import itertools
import json
import socket
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.faults import FaultStack as Stack
from tests.e2e.faults import Load, PrivatePostgres, manage, seed, stack_env
from tests.stack import free_port, wait_until

pytestmark = pytest.mark.e2e
_names = itertools.count()

RETRY_SCHEDULE = ",".join(["2", "3"] + ["5"] * 43)
BLAME_PERIOD = 2
PHASE = 40  # seconds of each failure mode

ATTACH = """
from django.contrib.auth import get_user_model
from devices.models import Device
from endpoints.models import Connection
alice = get_user_model().objects.get(username="alice")
for name, url in (("dead", %(dead)r), ("healthy", %(healthy)r)):
    connection = Connection.objects.create(owner=alice, name=name, destination_url=url, blame_period=%(blame)d)
    for device in Device.objects.filter(owner=alice):
        device.applications.add(connection)
"""


class Destination:
    """A ThingPark-style receiver on a fixed loopback port whose failure mode can be switched:
    "refuse" (nothing listens), "hang" (reads the request, never answers), "500", "ok". Only
    requests it answered 2xx count as delivered; `arrivals` holds (time, message id, device, seq)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/uplink"
        self.mode = "ok"
        self.lock = threading.Lock()
        self.arrivals = []
        self.refused_modes = {"hang": 0, "500": 0}
        self.release = threading.Event()  # ends the hung requests
        self.server = None

    def _handler(self):
        destination = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = destination.mode
                if mode == "hang":
                    with destination.lock:
                        destination.refused_modes["hang"] += 1
                    destination.release.wait(60)
                    self.close_connection = True
                    return  # no answer at all: the sender's read timeout fires
                if mode == "500":
                    with destination.lock:
                        destination.refused_modes["500"] += 1
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = json.loads(body)["DevEUI_uplink"]["payload"]
                with destination.lock:
                    destination.arrivals.append((time.monotonic(), int(self.headers["X-Message-Id"]),
                                                 payload["device"], payload["seq"]))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def listen(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        """Stops listening: connections are refused (nothing else binds the port meanwhile)."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def set(self, mode):
        if mode == "refuse":
            self.close()
        elif self.server is None:
            self.listen()
        if mode != "hang":
            self.release.set()
        else:
            self.release.clear()
        self.mode = mode

    def seqs(self):
        with self.lock:
            return list(self.arrivals)


def _refused(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _count(arrivals, accepted, answered_at, sent_at):
    """accepted, delivered, duplicated, lost, extra and out-of-order counts for one destination.

    Out of order: a device's messages arriving in another order than it sent them, or two messages
    of one device arriving against message id order although the older was answered 200
    (committed) before the newer was even sent. Messages of different devices may be in flight at
    once (the contract's order is per device), so their inversions are counted, not errors; nor are
    inversions between callbacks that overlapped in time."""
    firsts, seen, out_of_order, last = {}, set(), 0, {}
    duplicates = 0
    for at, message_id, device, seq in arrivals:
        if seq in seen:
            duplicates += 1
            continue
        seen.add(seq)
        firsts[seq] = at
        if seq < last.get(device, -1):  # a device's messages must arrive in the order it sent them
            out_of_order += 1
        last[device] = max(seq, last.get(device, -1))
    overlapping, across_devices = 0, 0
    for (_, m1, d1, s1), (_, m2, d2, s2) in itertools.pairwise(arrivals):
        if m2 < m1 and d1 != d2:
            across_devices += 1
        elif m2 < m1:
            if s2 in answered_at and s1 in sent_at and answered_at[s2] < sent_at[s1]:
                out_of_order += 1
                print(f"out of order: message {m1} (seq {s1}) before {m2} (seq {s2}), which was answered 200 "
                      f"{sent_at[s1] - answered_at[s2]:.2f}s before the other was sent")
            else:
                overlapping += 1
    lags = {seq: firsts[seq] - answered_at[seq] for seq in firsts if seq in answered_at}
    return {"accepted": len(accepted), "delivered": len(seen & accepted), "duplicated": duplicates,
            "lost": len(accepted - seen), "extra": len(seen - accepted), "out_of_order": out_of_order,
            "id_inversions_of_overlapping_callbacks": overlapping,
            "id_inversions_across_devices": across_devices}, lags


def _lag(lags, seqs):
    values = [lags[s] for s in seqs if s in lags] or [0.0]
    return f"n={len(values)} median={statistics.median(values) * 1000:.0f}ms max={max(values) * 1000:.0f}ms"


@pytest.fixture
def pg():
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


def test_destination_down_two_minutes_delivers_everything_in_order(pg, redis, tmp_path):
    db = f"faults_delivery_{next(_names)}"
    pg.query(f"CREATE DATABASE {db}")
    env = stack_env(pg, redis, db, VAR_DIR=str(tmp_path / "var"), ENDPOINTS_RETRY_SCHEDULE=RETRY_SCHEDULE)
    manage(env, "migrate", "--noinput")
    tokens = seed(env)
    dead, healthy = Destination(), Destination()
    dead.listen()
    healthy.listen()
    manage(env, "shell", "-c", ATTACH % {"dead": dead.url, "healthy": healthy.url, "blame": BLAME_PERIOD})
    stack = Stack(env=env, tmp_path=tmp_path, inherit=False)
    try:
        stack.start_web().start_worker().start_beat()
        load = Load(stack.url, tokens, threads=4, rate=1.5).start()
        time.sleep(15)

        outage_start = time.monotonic()
        phases = {}
        for mode in ("refuse", "hang", "500"):
            dead.set(mode)
            if mode == "refuse":
                assert _refused(dead.port)
            phases[mode] = time.monotonic()
            time.sleep(PHASE)
        # The last callbacks of the outage must reach the healthy destination before the dead one
        # recovers: give them a few seconds (the load keeps posting), then check.
        load_stop_at = time.monotonic()
        load.stop()
        accepted_in_outage = {seq for t, seq, status, took in load.between(outage_start, load_stop_at)
                              if status == 200}
        try:
            wait_until(lambda: accepted_in_outage <= {a[3] for a in healthy.seqs()}, timeout=20, interval=0.5,
                       what="the healthy destination while the other is down")
        except AssertionError:
            pass  # the counts below say what was late
        healthy_done_at = time.monotonic()
        late = sorted(accepted_in_outage - {a[3] for a in healthy.seqs()})
        late_rows = pg.query(
            "SELECT d.state, d.attempts, m.processed_at IS NOT NULL, count(*) FROM devices_message m "
            "LEFT JOIN endpoints_delivery d ON d.message_id = m.id AND d.connection_id = "
            "(SELECT id FROM endpoints_connection WHERE name = 'healthy') "
            "WHERE (m.payload->>'seq')::int = ANY(%s) GROUP BY 1, 2, 3", (late,), dbname=db)
        leases = pg.query("SELECT name, blame_count, blamed_until, now() FROM endpoints_connection", dbname=db)
        state = pg.query("SELECT name, state FROM endpoints_connection ORDER BY name", dbname=db)
        dead.set("ok")
        recovered_at = time.monotonic()

        accepted = set(load.accepted)
        wait_until(lambda: accepted <= {a[3] for a in dead.seqs()}, timeout=90, interval=1,
                   what="every accepted message at the recovered destination")
        drained_at = time.monotonic()
        time.sleep(3)  # anything sent twice would arrive now
        answered_at = {seq: t for t, seq, status, took in load.answered if status == 200}
        sent_at = {seq: t - took for t, seq, status, took in load.answered}
        pending = pg.query("SELECT state, count(*) FROM endpoints_delivery GROUP BY 1 ORDER BY 1", dbname=db)
        attempts = pg.query("SELECT c.name, count(*) FROM endpoints_attempt a JOIN endpoints_delivery d "
                            "ON d.id = a.delivery_id JOIN endpoints_connection c ON c.id = d.connection_id "
                            "GROUP BY 1 ORDER BY 1", dbname=db)
        final_state = pg.query("SELECT name, state FROM endpoints_connection ORDER BY name", dbname=db)
    finally:
        stack.stop()
        dead.close()
        healthy.close()

    dead_counts, _dead_lags = _count(dead.seqs(), accepted, answered_at, sent_at)
    healthy_counts, healthy_lags = _count(healthy.seqs(), accepted, answered_at, sent_at)
    before = {s for t, s, st, _ in load.answered if st == 200 and t < outage_start}
    print(f"\ncallbacks: {dict(load.statuses)}; failed attempts the dead destination saw: {dead.refused_modes} "
          f"(refused connections are not seen); attempts per connection {dict(attempts)}")
    print(f"[dead destination] {dead_counts}; states during the outage {dict(state)}, after {dict(final_state)}; "
          f"drained {drained_at - recovered_at:.1f}s after recovery")
    print(f"[healthy destination] {healthy_counts}")
    print(f"healthy lag before the outage: {_lag(healthy_lags, before)}; during it: "
          f"{_lag(healthy_lags, accepted_in_outage)}; all outage messages delivered "
          f"{healthy_done_at - load_stop_at:.1f}s after the load stopped, while the other was still down")
    print(f"deliveries by state: {dict(pending)}")
    if late:
        print(f"late at the healthy destination: {len(late)} seqs {late[:10]}...; (delivery state, attempts, "
              f"ingested, count): {late_rows}; connections (name, blame count, blamed, now): {leases}")

    assert load.bad == [], load.bad[:10]
    assert accepted_in_outage and not late, "the healthy destination must not wait for the dead one"
    assert dict(state)["dead"] == "UNREACHABLE"
    assert dict(final_state) == {"dead": "OPENED", "healthy": "OPENED"}
    assert dead.refused_modes["hang"] > 0 and dead.refused_modes["500"] > 0
    for counts in (dead_counts, healthy_counts):
        # No worker dies in this test, so at-least-once should be exactly once here.
        assert counts["lost"] == 0 and counts["extra"] == 0 and counts["out_of_order"] == 0, counts
        assert counts["duplicated"] == 0, counts
    assert dict(pending) == {"delivered": 2 * len(accepted)}
