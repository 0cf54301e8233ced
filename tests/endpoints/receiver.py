"""A real local HTTP server for delivery tests: records every request, answers from a script."""
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    """`answers` is consumed one per request: an int status, ("sleep", seconds, status),
    ("block", threading.Event) to hold the request until the event is set, or ("raw", status,
    headers, body) to answer with exactly those headers and bytes (a Content-Length the body does
    not match, a Content-Encoding it is not in), closing the connection after; when empty, 200.
    `answer_for(body)`, if set, is asked first: a status for that request, or None for the above
    (for answers that must not depend on which of several parallel requests arrives first)."""

    server: ThreadingHTTPServer = None
    requests: list = field(default_factory=list)
    answers: list = field(default_factory=list)
    on_request: object = None
    answer_for: object = None
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count, timeout=30):
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError(f"receiver got {len(self.requests)} requests, expected {count}")
        return self.requests

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def receiver_start():
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = receiver.answer_for(body) if receiver.answer_for else None
            if answer is None:
                answer = receiver.answers.pop(0) if receiver.answers else 200
            with receiver.arrived:
                receiver.requests.append(Received(self.command, self.path, dict(self.headers), body))
                receiver.arrived.notify_all()
            if receiver.on_request:
                receiver.on_request(receiver.requests[-1])
            if isinstance(answer, tuple) and answer[0] == "sleep":
                threading.Event().wait(answer[1])
                answer = answer[2]
            elif isinstance(answer, tuple) and answer[0] == "block":
                answer[1].wait(60)
                answer = 200
            if isinstance(answer, tuple) and answer[0] == "raw":
                _, status, headers, raw = answer
                self.close_connection = True
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)
                return
            payload = json.dumps({"ok": answer < 300, "n": len(receiver.requests)}).encode()
            try:
                self.send_response(answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, *args):
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver
