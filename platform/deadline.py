"""A deadline for request bodies, so slow clients cannot tie up the web server.

Granian (platform/webserver.py) runs the application on a few threads per worker and streams the
body into `wsgi.input` with no deadline of its own: a client that sends its headers and then its
body one byte per second would hold a thread for as long as it liked, and a handful of them would
stop the site (tests/security/test_slow_clients.py). Slow headers are Granian's to cut
(REQUEST_HEADER_TIMEOUT).

`BodyDeadline` wraps the WSGI application: a request's body is read on a helper thread while the
request's own thread waits for it at most REQUEST_BODY_TIMEOUT seconds. Past that the answer is 408
with Connection: close; the server then closes the connection, which ends the helper's read. In
time, the application reads the body from memory, as Django would have read it whole anyway. A body
declared larger than its view accepts (a device callback's own limit, or the largest of any other
view) is answered 413 unread, and a chunked one is read up to that size (and given its
Content-Length, which Django needs to see it at all)."""
import io
import threading
from collections.abc import Callable, Iterable
from queue import SimpleQueue
from typing import Any

from django.conf import settings

from platform.handlers import is_device_callback


class _Readers:
    """Helper threads that read bodies: as many as reads are waiting, started on demand and kept.
    A read past its deadline keeps its helper until the server closes that connection."""

    def __init__(self) -> None:
        self.jobs: SimpleQueue[tuple[Any, int, list[Any], Any]] = SimpleQueue()
        self.idle = 0
        self.lock = threading.Lock()

    def read(self, stream: Any, size: int, timeout: float) -> bytes | None:
        """Up to `size` bytes of `stream` (fewer at its end), or None past the timeout."""
        with self.lock:
            if self.idle:
                self.idle -= 1
            else:
                threading.Thread(target=self._serve, name="body-reader", daemon=True).start()
        done = threading.Lock()
        done.acquire()
        box: list[Any] = []
        self.jobs.put((stream, size, box, done))
        if not done.acquire(timeout=timeout):
            return None
        if isinstance(box[0], BaseException):
            raise box[0]
        return box[0]

    def _serve(self) -> None:
        while True:
            stream, size, box, done = self.jobs.get()
            try:
                box.append(stream.read(size))
            except BaseException as exc:  # noqa: BLE001  handed to the request's thread, raised there
                box.append(exc)
            done.release()
            with self.lock:
                self.idle += 1


_readers = _Readers()


def _error(environ: dict[str, Any], start_response: Callable[..., Any], status: int, message: str) -> list[bytes]:
    """The platform's JSON error (platform/api.py; ThingPark's shape under /iot-flow/, as its views
    answer), answered here before any view, and the connection closed: what is left of the body is
    never read."""
    # platform.wsgi imports this module before Django is set up.
    from platform.api import error_response, thingpark_error_response

    if environ.get("PATH_INFO", "").startswith("/iot-flow/"):
        response = thingpark_error_response(status, message)
        response["Connection"] = "close"
    else:
        response = error_response(status, message, Connection="close")
    start_response(f"{status} {response.reason_phrase}",
                   [*response.items(), ("Content-Length", str(len(response.content)))])
    return [response.content]


def body_limit(device: bool) -> int:
    """The largest body the request's view accepts: a device callback's own limit, else the
    largest of any other view."""
    if device:
        return settings.DEVICE_CALLBACK_MAX_BYTES
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.DEVICE_CALLBACK_MAX_BYTES)


def too_large_message(limit: int, *, device: bool) -> str:
    """The 413's message, here and in the callback's own check (devices/callback.py)."""
    return f"Body too large: at most {limit} bytes{'; split it into several callbacks' if device else ''}."


class BodyDeadline:
    """WSGI middleware: see the module docstring."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length in (None, "", "0") and not chunked:
            return self.app(environ, start_response)
        device = is_device_callback(environ)
        limit = body_limit(device)
        try:
            declared = int(length) if length else None
        except ValueError:
            declared = -1
        if declared is not None and declared < 0:
            return _error(environ, start_response, 400, f"Content-Length {length!r} is not a size in bytes.")
        if declared is not None and declared > limit:
            return _error(environ, start_response, 413, too_large_message(limit, device=device))
        timeout = settings.REQUEST_BODY_TIMEOUT
        body = _readers.read(environ["wsgi.input"], declared if declared is not None else limit + 1, timeout)
        if body is None:
            return _error(environ, start_response, 408, f"The request body did not arrive within {timeout} s: send it at "
                                               "once, or more quickly.")
        if len(body) > limit:
            return _error(environ, start_response, 413, too_large_message(limit, device=device))
        if declared is not None and len(body) < declared:  # the client closed the connection early
            return _error(environ, start_response, 400, f"The body ended after {len(body)} of the {declared} bytes its "
                                               "Content-Length declared.")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
