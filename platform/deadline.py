"""A deadline for reading request bodies, so slow clients cannot tie up the web server.

gunicorn's gthread worker gives each request one thread and reads the body with a blocking
socket and no timeout; its `--timeout` only watches the worker's main loop. A client that sends
its headers and then the body one byte per second holds a thread as long as it likes, and
workers x threads such clients stop the site (tests/security/test_slow_clients.py).

`BodyDeadline` wraps the WSGI application: a body must arrive within REQUEST_BODY_TIMEOUT seconds
of the request's start. While the application is inside a read of `wsgi.input`, the request is
registered with one watchdog thread per process; past the deadline the watchdog shuts the
socket's read side, the blocked read returns, and the answer becomes 408 with Connection: close.
Reads that finish in time cost two dict operations; nothing is armed outside a read, so a slow
database after the body was read is not mistaken for a slow client.

The header phase happens in gunicorn before the application runs and is not covered: in
production put a buffering reverse proxy (nginx with its default `proxy_request_buffering on`,
`client_header_timeout`, `client_body_timeout`) in front, which also covers bodies."""
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings

_reading: dict[int, "DeadlineInput"] = {}  # id(reader) -> reader, only while a read is in progress
_watchdog: threading.Thread | None = None
_watchdog_lock = threading.Lock()
TICK = 0.25


def _watch() -> None:
    while True:
        time.sleep(TICK)
        now = time.monotonic()
        for reader in list(_reading.values()):
            if reader.deadline <= now and not reader.timed_out:
                reader.expire()


def _watchdog_start() -> None:
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None or not _watchdog.is_alive():  # a fork leaves no thread behind
            _watchdog = threading.Thread(target=_watch, name="body-deadline", daemon=True)
            _watchdog.start()


class DeadlineInput:
    """`wsgi.input` whose reads end at the deadline: what arrived by then is returned (short), and
    `timed_out` says the body is incomplete."""

    def __init__(self, stream: Any, sock: socket.socket, deadline: float) -> None:
        self.stream, self.sock, self.deadline = stream, sock, deadline
        self.timed_out = False

    def expire(self) -> None:
        self.timed_out = True
        try:
            self.sock.shutdown(socket.SHUT_RD)  # the blocked recv() returns b""
        except OSError:
            pass

    def _call(self, method: str, *args: Any) -> Any:
        if self.timed_out:
            return b"" if method != "readlines" else []
        _reading[id(self)] = self
        try:
            return getattr(self.stream, method)(*args)
        except Exception:
            if self.timed_out:  # gunicorn may complain about the body it could not finish
                return b"" if method != "readlines" else []
            raise
        finally:
            _reading.pop(id(self), None)

    def read(self, *args: Any) -> bytes:
        return self._call("read", *args)

    def readline(self, *args: Any) -> bytes:
        return self._call("readline", *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._call("readlines", *args)

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class BodyDeadline:
    """WSGI middleware: see the module docstring. Only requests with a body served by gunicorn
    (which puts the client socket in `gunicorn.socket`) are armed."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        sock = environ.get("gunicorn.socket")
        has_body = environ.get("CONTENT_LENGTH") not in (None, "", "0") or \
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if sock is None or not has_body:
            return self.app(environ, start_response)
        _watchdog_start()
        timeout = settings.REQUEST_BODY_TIMEOUT
        reader = DeadlineInput(environ["wsgi.input"], sock, time.monotonic() + timeout)
        environ["wsgi.input"] = reader

        def start_unless_timed_out(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if reader.timed_out:
                return lambda data: None
            return start_response(status, headers, exc_info)

        result = self.app(environ, start_unless_timed_out)
        if not reader.timed_out:
            return result
        if hasattr(result, "close"):
            result.close()
        body = json.dumps({"error": {"message": f"The request body did not arrive within {timeout} s: send it "
                                                "at once, or more quickly."}}).encode()
        start_response("408 Request Timeout", [("Content-Type", "application/json"),
                                               ("Content-Length", str(len(body))), ("Connection", "close")])
        return [body]
