"""Epoch milliseconds, the one time format of the platform: records, messages and deliveries keep
`ts` as a BIGINT of them (interval arithmetic is the same on PostgreSQL and SQLite), and the API
speaks them (docs/api.md). Every "now" and every datetime on the wire goes through here."""
import time
from datetime import UTC, datetime
from typing import overload


def now_ms() -> int:
    """The wall clock now, in epoch milliseconds."""
    return int(time.time() * 1000)


@overload
def ms(moment: datetime) -> int: ...
@overload
def ms(moment: None) -> None: ...
def ms(moment: datetime | None) -> int | None:
    """A datetime as epoch milliseconds (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def epoch_ms_text(ts: int | None) -> str:
    """Epoch milliseconds as a UTC date a person reads, "2026-12-07 12:28:39.123 UTC" (admin titles
    and lists), or "" for none."""
    if ts is None:
        return ""
    moment = datetime.fromtimestamp(ts / 1000, tz=UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} UTC"
