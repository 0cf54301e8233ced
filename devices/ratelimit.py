"""The per-device callback rate limit: a fixed one-minute window counted in Django's cache
(Redis in production, so every web process shares the count).

A device's counter is named by its token's hash, not its id: with Redis the callback counts in the
same round trip as its device lookup (devices/selectors.py), before it knows which device the token
belongs to, if any. Only the device's own token reaches its counter, so nobody without it can use
up a device's allowance; a wrong token counts under a key no device has, gone after two minutes."""
from django.conf import settings
from django.core.cache import cache

from devices import cache as callback_cache

KEY_SECONDS = 120


def rate_key(hashed_token: str, now: float) -> str:
    return f"devices:rate:{hashed_token[:32]}:{int(now // 60)}"


def callback_rate_exceeded(*, hashed_token: str, now: float, counted: int | None = None) -> int | None:
    """Counts one callback of the device whose token has this hash (unless the lookup `counted`
    it already: the count it returned); returns the seconds until its window ends if it is over
    settings.DEVICE_RATE_LIMIT per minute, else None. 0 turns the limit off. Fails open: an
    unreachable cache must not stop devices from sending."""
    limit = settings.DEVICE_RATE_LIMIT
    if not limit:
        return None
    count = counted
    if count is None:
        if not callback_cache.available():
            return None
        try:
            count = _count(rate_key(hashed_token, now))
        except Exception:  # noqa: BLE001  any cache backend failure
            # Stop asking a cache that is down or hung for a few seconds (the whole callback path
            # does): one callback pays the timeout, not every one.
            callback_cache.failed("rate limit counter; letting callbacks through")
            return None
    if count > limit:
        return max(1, 60 - int(now % 60))
    return None


def _count(key: str) -> int:
    """Counts one hit on `key` (created with a 120 s expiry); returns the count. With Redis, one
    round trip (platform/cache.py count: SET NX EX and INCR); elsewhere Django's add + incr."""
    count = getattr(cache, "count", None)
    if count is not None:
        return count(key, KEY_SECONDS)
    cache.add(key, 0, timeout=KEY_SECONDS)
    return cache.incr(key)
