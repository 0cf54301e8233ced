"""What the logs say about a client's mistake: one WARNING line without a traceback, so that an
alert on ERROR lines means the server's own trouble (platform/logfilters.py)."""
import logging
import sys

import pytest

from platform.logfilters import ClientErrorsBrief


@pytest.mark.django_db
def test_a_host_not_allowed_is_one_warning_line(client, caplog):
    caplog.set_level(logging.INFO)
    assert client.get("/healthz", HTTP_HOST="scanner.example").status_code == 400
    records = [r for r in caplog.records if r.name.startswith(("django.security", "django.request"))]
    assert records and all(r.levelno == logging.WARNING and r.exc_info is None for r in records), \
        [(r.name, r.levelname, r.exc_info) for r in records]
    assert any("scanner.example" in r.getMessage() for r in records)


def _record(status, level):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("django.request", level, __file__, 1, "Something: /x", (), sys.exc_info())
    record.status_code = status
    return record


def test_a_4xx_loses_its_traceback_and_a_5xx_keeps_everything():
    forbidden = _record(403, logging.WARNING)
    assert ClientErrorsBrief().filter(forbidden) and forbidden.exc_info is None and forbidden.levelno == logging.WARNING
    failed = _record(500, logging.ERROR)
    assert ClientErrorsBrief().filter(failed) and failed.exc_info is not None and failed.levelno == logging.ERROR
