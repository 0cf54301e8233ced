"""The platform's one clock: epoch milliseconds now, and a datetime in the same unit."""
import time
from datetime import UTC, datetime, timedelta, timezone

from platform.clock import ms, now_ms


def test_now_ms_is_the_wall_clock_in_milliseconds():
    before = int(time.time() * 1000)
    now = now_ms()
    assert isinstance(now, int)
    assert before <= now <= int(time.time() * 1000)


def test_ms_of_a_datetime_is_epoch_milliseconds_whatever_its_zone():
    assert ms(datetime(2026, 3, 10, 12, 0, 0, 250_000, tzinfo=UTC)) == 1773144000250
    assert ms(datetime(2026, 3, 10, 13, 0, 0, 250_000, tzinfo=timezone(timedelta(hours=1)))) == 1773144000250


def test_ms_of_none_is_none():
    assert ms(None) is None
