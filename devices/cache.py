"""The callback's token -> device lookup, cached in the shared cache (Redis) so the hot path
costs no query for it; invalidated on every write that changes what the callback reads.

Keys, per URL (username, device id): a value (the device's callback fields, with the versions it
was read under) and two version stamps, one for the device and one for its owner. A read fetches
all three in one round trip and uses the value only if its versions are the current ones. A write
(create, save, delete, token regeneration, owner rename or delete) stamps a new version and
deletes the value, at once and again after its transaction commits, so:
- the old token stops working as soon as the write is done (the value is gone, its version stale);
- a read that fetched the old row before the commit and stores it afterwards stores it under the
  old version, which no read will accept.
Version stamps never expire (only values do), so an eviction policy that spares keys without a
TTL (Redis' default noeviction, or volatile-*) never brings a stale value back. The cache being
down costs the lookup its query, never correctness: reads fall back to the database and a
process stops asking a failing cache for a few seconds."""
import logging
import secrets
import time
from typing import Any, NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


class CallbackDevice(NamedTuple):
    """What the callback reads of a device (the cached fields): a tuple costs a callback well under
    a microsecond where a model instance (Device.from_db) costs several."""

    id: int
    owner_id: int
    device_id: str
    name: str
    enabled: bool
    token_hash: str
    send_property: str
    timeout: int

    @property
    def pk(self) -> int:
        return self.id


FIELDS = CallbackDevice._fields
VALUE_SECONDS = 300
PAUSE_SECONDS = 5.0
_paused_until = 0.0
# The device and owner version stamps a value was read under (None: not stamped yet).
Versions = list[str | None]


def _keys(username: str, device_id: str | None) -> tuple[str, str, str]:
    return f"devices:cb:{username}:{device_id}", f"devices:cbv:{username}:{device_id}", f"devices:cbu:{username}"


def available() -> bool:
    """False for PAUSE_SECONDS after any cache operation of the callback path failed (this
    lookup, the rate-limit counter, the wake-up flag): a cache that is down or hung then costs
    one callback per process a socket timeout, not every callback one timeout per use."""
    return time.monotonic() >= _paused_until


def failed(what: str) -> None:
    global _paused_until
    _paused_until = time.monotonic() + PAUSE_SECONDS
    # Called from the callers' except blocks, so exc_info carries their exception.
    logger.warning("cache unavailable (%s); the callback path skips it for %.0f s", what, PAUSE_SECONDS,
                   exc_info=True)  # noqa: LOG014


def enabled() -> bool:
    """Only with a cache all processes share: with a per-process cache (locmem) a write in one
    process could not invalidate another's copy."""
    return settings.CACHE_SHARED and available()


def device_get(username: str, device_id: str, count: tuple[str, int] | None = None
               ) -> tuple[dict[str, Any] | None, Versions | None, int | None]:
    """(values or None, versions, counted): values is a dict of FIELDS if cached under the current
    versions; versions is what to store a database read under (None: do not store). With `count`
    (key, expiry), also counts one at that key in the same round trip: counted is the count (None
    if the cache was not asked)."""
    if not enabled():
        return None, None, None
    value_key, device_key, user_key = _keys(username, device_id)
    counted = None
    try:
        if count is None:
            found = cache.get_many([value_key, device_key, user_key])
        else:
            found, counted = cache.get_many_and_count([value_key, device_key, user_key], *count)  # type: ignore[attr-defined]  # platform/cache.py, the only shared cache
    except Exception:  # noqa: BLE001  any cache backend failure: read the database instead
        failed("device lookup")
        return None, None, None
    versions = [found.get(device_key), found.get(user_key)]
    value = found.get(value_key)
    if value is not None and value.get("v") == versions:
        return value, versions, counted
    return None, versions, counted


def device_put(username: str, device_id: str, values: dict[str, Any], versions: Versions | None) -> None:
    if versions is None:
        return
    try:
        cache.set(_keys(username, device_id)[0], {**values, "v": versions}, timeout=VALUE_SECONDS)
    except Exception:  # noqa: BLE001  any cache backend failure: the value is simply not cached
        failed("device lookup store")


def _stamp(username: str, device_id: str | None = None) -> None:
    value_key, device_key, user_key = _keys(username, device_id)
    try:
        if device_id is None:
            cache.set(user_key, secrets.token_hex(8), timeout=None)
        else:
            cache.set_many({device_key: secrets.token_hex(8)}, timeout=None)
            cache.delete(value_key)
    except Exception:
        # The value may then outlive this write for up to VALUE_SECONDS: say so loudly.
        logger.exception("callback cache: could not invalidate %s/%s", username, device_id or "*")


def invalidate(username: str, device_id: str | None = None) -> None:
    """A write changed the device (or, without device_id, every device of the user): now, and
    again when the surrounding transaction commits."""
    if not settings.CACHE_SHARED:
        return
    _stamp(username, device_id)
    transaction.on_commit(lambda: _stamp(username, device_id))


def _device_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    from django.contrib.auth import get_user_model

    username = (get_user_model().objects.filter(pk=instance.owner_id).values_list("username", flat=True).first()
                if "owner" not in instance._state.fields_cache else instance.owner.get_username())
    if username is not None:
        invalidate(username, instance.device_id)


def _user_renaming(sender: Any, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """A renamed user's cached devices are stale under the old name; a user (de)activated changes
    whether their devices answer at all (devices/selectors.py device_for_callback)."""
    if instance.pk is None or (update_fields is not None and not {"username", "is_active"} & set(update_fields)):
        return
    old = sender.objects.filter(pk=instance.pk).values_list("username", "is_active").first()
    if old is not None and (old[0] != instance.get_username() or old[1] != instance.is_active):
        invalidate(old[0])


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    invalidate(instance.get_username())


def connect() -> None:
    """Called from DevicesConfig.ready(), so every process that can write a device listens."""
    from django.db.models.signals import post_delete, post_save, pre_save

    post_save.connect(_device_changed, sender="devices.Device", dispatch_uid="devices.cache.saved")
    post_delete.connect(_device_changed, sender="devices.Device", dispatch_uid="devices.cache.deleted")
    pre_save.connect(_user_renaming, sender=settings.AUTH_USER_MODEL, dispatch_uid="devices.cache.user_renaming")
    post_delete.connect(_user_deleted, sender=settings.AUTH_USER_MODEL, dispatch_uid="devices.cache.user_deleted")
