"""The server's own environment kept out of every request.

Granian (platform/webserver.py) copies its process's environment (os.environ) into each request's
WSGI environ. Database URLs and keys have no place in `request.META`, and a variable named like a
header (HTTP_PROXY) would pass for one the client sent. `ServerEnvironOut` wraps the application
and takes them out before anything reads the request."""
import os
from collections.abc import Callable, Iterable
from typing import Any

# Names a WSGI server sets for the request itself: never the server's environment's to fill.
_REQUEST_KEYS = {"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
                 "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "RAW_URI",
                 "GATEWAY_INTERFACE", "SERVER_SOFTWARE"}


class ServerEnvironOut:
    """WSGI middleware: see the module docstring. The environment is read once, when the worker
    process builds its application."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        server = {key: value for key, value in os.environ.items() if key not in _REQUEST_KEYS}
        self.server_keys = [key for key in server if not key.startswith("HTTP_")]
        # A request header of the same name and value is indistinguishable, and goes with it.
        self.server_headers = {key: value for key, value in server.items() if key.startswith("HTTP_")}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        for key in self.server_keys:
            environ.pop(key, None)
        for key, value in self.server_headers.items():
            if environ.get(key) == value:
                del environ[key]
        return self.app(environ, start_response)
