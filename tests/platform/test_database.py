"""The PostgreSQL backend's health check (platform/database/base.py): skipped for a connection that
has just served a request cleanly, done otherwise."""
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit, as between real requests


class Checks(list):
    usable = True


@pytest.fixture
def checks(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.fail("runs on PostgreSQL only (not marked parity)")
    done = Checks()
    real = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: done.append(1) or (done.usable and real()))
    connection.ensure_connection()
    connection.served_cleanly_at = None
    connection.health_check_done = False
    return done


def request(used=True):
    """What Django does around a request that uses the database (close_old_connections on
    request_started and request_finished; the health check before the first query)."""
    connection.close_if_unusable_or_obsolete()
    if used:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    connection.close_if_unusable_or_obsolete()


def test_a_connection_that_just_served_a_request_is_not_checked_again(checks):
    request()
    assert len(checks) == 1  # its first use: checked
    request()
    request()
    assert len(checks) == 1


def test_an_idle_connection_is_checked(checks, settings):
    request()
    connection.served_cleanly_at -= settings.DATABASE_HEALTH_CHECK_IDLE
    request()
    assert len(checks) == 2


def test_zero_checks_every_request(checks, settings):
    settings.DATABASE_HEALTH_CHECK_IDLE = 0
    request()
    request()
    assert len(checks) == 2


def test_after_an_error_the_connection_is_checked(checks):
    request()
    connection.errors_occurred = True  # what Django's error wrapper sets on an OperationalError
    connection.close_if_unusable_or_obsolete()  # the failed request ends: checked, kept
    assert len(checks) == 2 and connection.connection is not None


def test_a_connection_that_fails_its_check_is_closed(checks, settings):
    request()
    connection.served_cleanly_at -= settings.DATABASE_HEALTH_CHECK_IDLE
    checks.usable = False
    connection.close_if_health_check_failed()
    assert len(checks) == 2 and connection.connection is None


def test_a_request_that_did_not_use_the_connection_keeps_the_stamp_unchanged(checks):
    request()
    stamped = connection.served_cleanly_at
    request(used=False)
    assert connection.served_cleanly_at == stamped
