"""ServerEnvironOut (platform/server_environ.py): the server's environment kept out of the request."""
import json

from platform.server_environ import ServerEnvironOut


def _echo(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"proxy": environ.get("HTTP_PROXY"), "secret": environ.get("DATABASE_URL"),
                        "path": environ.get("PATH_INFO")}).encode()]


def _call(app, **environ):
    body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/x", **environ}, lambda *args: None))
    return json.loads(body)


def test_the_servers_environment_is_not_the_requests(monkeypatch):
    """Granian copies its process's environment into every request's environ."""
    monkeypatch.setenv("DATABASE_URL", "postgres://user:pw@db/x")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("PATH_INFO", "/from-the-environment")  # a request's own key is never taken out
    app = ServerEnvironOut(_echo)
    answer = _call(app, DATABASE_URL="postgres://user:pw@db/x", HTTP_PROXY="http://proxy:3128")
    assert answer == {"proxy": None, "secret": None, "path": "/x"}
    answer = _call(app, HTTP_PROXY="http://other")  # a header the client really sent stays
    assert answer["proxy"] == "http://other"
