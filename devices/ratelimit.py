"""The per-device callback rate limit: a fixed one-minute window counted in Django's cache
(Redis in production, so every web process shares the count)."""
import logging
import time

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
PAUSE_SECONDS = 5.0
_paused_until = 0.0


def callback_rate_exceeded(*, device_pk):
    """Counts one callback of the device; returns the seconds until its window ends if it is over
    settings.DEVICE_RATE_LIMIT per minute, else None. 0 turns the limit off. Fails open: an
    unreachable cache must not stop devices from sending."""
    limit = settings.DEVICE_RATE_LIMIT
    if not limit:
        return None
    global _paused_until
    if time.monotonic() < _paused_until:
        return None
    now = time.time()
    key = f"devices:rate:{device_pk}:{int(now // 60)}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except Exception:
        # Stop asking a cache that is down or hung for a few seconds: one callback pays the
        # timeout, not every one.
        _paused_until = time.monotonic() + PAUSE_SECONDS
        logger.warning("rate limit counter unavailable; letting the callback through", exc_info=True)
        return None
    if count > limit:
        return max(1, 60 - int(now % 60))
    return None
