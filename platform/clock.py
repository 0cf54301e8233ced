"""Epoch milliseconds, the one time format of the platform: records, messages and deliveries keep
`ts` as a BIGINT of them (interval arithmetic is the same on PostgreSQL and SQLite), and the API
speaks them (docs/api.md). Every "now" and every datetime on the wire goes through here."""
import time
from datetime import datetime
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
