"""Which owners, buckets and properties any enabled rule watches: what ingest's announcement is
checked against, so a batch from devices without rules costs one cache read and no query.

The map is cached under a version stamp, like devices/cache.py: a rule change stamps a new
version (now and again after commit), a read fetches value and stamp in one round trip and uses
the value only if it was built under the current stamp. Only with a cache shared by every
process (Redis): with a per-process cache (locmem, the embedded default) the web could not
invalidate the worker's copy, so the map is read from the database, once per batch."""
import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)
VALUE_KEY, VERSION_KEY = "alarms:watch", "alarms:watchv"
VALUE_SECONDS = 600
# {owner id: {"b": {bucket pk, ...}, "p": {property name, ...}, "s": bool}}
WatchMap = dict[int, dict[str, Any]]


def _shared() -> bool:
    return settings.CACHE_SHARED


def watch_build() -> WatchMap:
    """{owner id: {"b": {bucket pk, ...}, "p": {property name, ...}, "s": bool}} from the enabled
    rules: "s" when the owner has status or silence rules (their alarms normalize on a message)."""
    from alarms.models import Rule

    watched: WatchMap = {}
    for owner_id, kind, bucket_pk, prop in (Rule.objects.filter(enabled=True)
                                            .values_list("owner_id", "source_type", "bucket_id", "property")):
        entry = watched.setdefault(owner_id, {"b": set(), "p": set(), "s": False})
        if kind == Rule.BUCKET and bucket_pk:
            entry["b"].add(bucket_pk)
        elif kind == Rule.PROPERTY and prop:
            entry["p"].add(prop)
        elif kind in (Rule.STATUS, Rule.SILENCE):
            entry["s"] = True
    return watched


def watch_map() -> WatchMap:
    """The current map: from the cache when it holds a value built under the current version."""
    if not _shared():
        return watch_build()
    try:
        found = cache.get_many([VALUE_KEY, VERSION_KEY])
    except Exception:
        logger.warning("alarms: cache unavailable, reading the rules from the database", exc_info=True)
        return watch_build()
    version = found.get(VERSION_KEY)
    value = found.get(VALUE_KEY)
    if value is not None and version is not None and value.get("v") == version:
        return value["map"]
    try:
        if version is None:  # a fresh cache: make a stamp first, then read the rules under it
            cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
            version = cache.get(VERSION_KEY)
        built = watch_build()
        if version is not None:
            cache.set(VALUE_KEY, {"v": version, "map": built}, timeout=VALUE_SECONDS)
        return built
    except Exception:
        logger.warning("alarms: could not cache the watch map", exc_info=True)
        return watch_build()


def _stamp() -> None:
    try:
        cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)
        cache.delete(VALUE_KEY)
    except Exception:
        logger.exception("alarms: could not invalidate the watch map; it may be stale for up to %s s",
                         VALUE_SECONDS)


def watch_invalidate() -> None:
    """A rule changed: stale now, and again once the change commits (a read between the write and
    the commit would otherwise cache the old rules under the new stamp)."""
    if not _shared():
        return
    _stamp()
    transaction.on_commit(_stamp)

