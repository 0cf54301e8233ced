"""The web server's command line (platform/webserver.py)."""
import pytest

from platform.webserver import header_timeout_ms, web_command, web_concurrency


@pytest.mark.parametrize(("value", "ms"), [(None, 10000), ("3", 3000), ("0", 1000), ("600", 60000)])
def test_the_header_timeout_is_within_what_the_server_accepts(value, ms):
    environ = {} if value is None else {"REQUEST_HEADER_TIMEOUT": value}
    assert header_timeout_ms(environ) == ms
    command = web_command("[::]:8000", 2, environ=environ)
    assert command[command.index("--http1-header-read-timeout") + 1] == str(ms)
    assert command[command.index("--host") + 1] == "::" and command[command.index("--port") + 1] == "8000"


def test_a_header_timeout_that_is_not_a_number_stops_the_start():
    with pytest.raises(SystemExit, match="whole number of seconds"):
        header_timeout_ms({"REQUEST_HEADER_TIMEOUT": "ten"})


@pytest.mark.parametrize("value", ["x", "0", "-1", "2.5"])
def test_a_web_concurrency_that_is_not_a_process_count_stops_the_start(value):
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        web_concurrency({"WEB_CONCURRENCY": value})
    assert web_concurrency({}) == 2 and web_concurrency({"WEB_CONCURRENCY": "4"}) == 4
