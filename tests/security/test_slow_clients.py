"""Slow-loris bodies over the real web server (Granian), set up as in production (2 workers x 4 threads).

Clients that send their headers and then the body one byte per second must not tie up the
server: more of them than workers x threads, and a normal callback still gets its 200, in a
bounded time; the slow clients get 408 or are disconnected (platform/deadline.py)."""
import socket
import threading
import time

import pytest
import requests

from devices.models import Message
from tests.stack import Stack, live_database_url

pytestmark = pytest.mark.e2e

WORKERS, THREADS = 2, 4  # tests/stack.py Stack.start_web: --workers 2 --threads 4
SLOW_CLIENTS = WORKERS * THREADS + 4
BODY_TIMEOUT = 3
HEADER_TIMEOUT = 2
BODY = b'{"slow": "' + b"x" * 80 + b'"}'  # 92 bytes: 92 s at one byte per second


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url(), "REQUEST_BODY_TIMEOUT": str(BODY_TIMEOUT),
                         "REQUEST_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}, tmp_path=tmp_path)
    yield running
    running.stop()


def _trickle(port, head, trickle, outcomes, index):
    """Sends `head` at once, then `trickle` one byte per second; records how it ended: the status
    line of an answer, "disconnected" (the server closed the connection), or "sent everything"."""
    started = time.monotonic()
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        sock.sendall(head)
        sock.settimeout(1.0)
        for byte in trickle:
            try:
                answer = sock.recv(4096)
            except TimeoutError:  # nothing yet: send the next byte, a second later
                answer = None
            if answer is not None:
                outcomes[index] = (answer.split(b"\r\n", 1)[0].decode() or "disconnected",
                                   time.monotonic() - started)
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                outcomes[index] = ("disconnected", time.monotonic() - started)
                return
        outcomes[index] = ("sent everything", time.monotonic() - started)
    except OSError as exc:
        outcomes[index] = (f"disconnected ({exc.__class__.__name__})", time.monotonic() - started)
    finally:
        sock.close()


def _slow_client(port, path, token, outcomes, index):
    """Sends the headers at once, then the body one byte per second."""
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n").encode()
    _trickle(port, head, BODY, outcomes, index)


def test_slow_bodies_do_not_tie_up_the_server(stack, device):
    stack.start_web(workers=WORKERS)
    path = "/v3/users/alice/devices/d1/callback/data"
    outcomes = {}
    slow = [threading.Thread(target=_slow_client, args=(stack.port, path, device.token, outcomes, i), daemon=True)
            for i in range(SLOW_CLIENTS)]
    for thread in slow:
        thread.start()
    time.sleep(1.5)  # every thread of every worker is now inside request.read()

    started = time.monotonic()
    normal = requests.post(f"{stack.url}{path}", json={"temperature": 21},
                           headers={"Authorization": f"Bearer {device.token}"}, timeout=BODY_TIMEOUT + 10)
    took = time.monotonic() - started
    for thread in slow:
        thread.join(timeout=BODY_TIMEOUT + 10)

    ends = sorted(outcomes.values(), key=lambda o: o[1])
    print(f"\n{SLOW_CLIENTS} slow clients against {WORKERS} workers x {THREADS} threads, body deadline "
          f"{BODY_TIMEOUT} s: normal callback {normal.status_code} after {took:.1f}s; slow clients: "
          + ", ".join(f"{status} after {seconds:.1f}s" for status, seconds in ends))
    assert normal.status_code == 200, normal.text
    # Bounded: at worst the normal callback waits for the first slow clients' deadline.
    assert took < BODY_TIMEOUT + 5
    assert len(outcomes) == SLOW_CLIENTS
    assert all(status.startswith(("HTTP/1.1 408", "disconnected")) for status, _ in ends), ends
    # The first workers x threads end at the deadline, the queued ones at most one deadline later.
    assert all(seconds < 2 * BODY_TIMEOUT + 5 for _, seconds in ends), ends


def _slow_headers(port, outcomes, index):
    """Sends the request line, then one byte of a header per second."""
    _trickle(port, b"POST /v3/users/alice/devices/d1/callback/data HTTP/1.1\r\nHost: 127.0.0.1\r\n",
             b"X-Slow: " + b"y" * 30, outcomes, index)


def test_slow_headers_are_cut_and_do_not_tie_up_the_server(stack, device):
    stack.start_web(workers=WORKERS)
    outcomes = {}
    slow = [threading.Thread(target=_slow_headers, args=(stack.port, outcomes, i), daemon=True)
            for i in range(SLOW_CLIENTS)]
    for thread in slow:
        thread.start()
    time.sleep(1)
    started = time.monotonic()
    normal = requests.post(f"{stack.url}/v3/users/alice/devices/d1/callback/data", json={"temperature": 21},
                           headers={"Authorization": f"Bearer {device.token}"}, timeout=10)
    took = time.monotonic() - started
    for thread in slow:
        thread.join(timeout=HEADER_TIMEOUT + 20)
    assert normal.status_code == 200, normal.text
    assert took < HEADER_TIMEOUT  # headers are read by the server's own tasks, not the application's threads
    assert len(outcomes) == SLOW_CLIENTS
    # Cut without an answer (a reset counts: "disconnected (ConnectionResetError)").
    assert all(status.startswith("disconnected") and seconds < HEADER_TIMEOUT + 3
               for status, seconds in outcomes.values()), outcomes


def test_a_chunked_callback_is_stored(stack, device):
    """Firmware that streams its body in chunks (no Content-Length) is read like any other."""
    stack.start_web(workers=1)
    answer = requests.post(f"{stack.url}/v3/users/alice/devices/d1/callback/data",
                           data=iter([b'{"temperature": ', b"21}"]),
                           headers={"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"},
                           timeout=10)
    assert answer.status_code == 200, answer.text
    assert list(Message.objects.filter(device=device).values_list("payload", flat=True)) == [{"temperature": 21}]
