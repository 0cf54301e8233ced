"""Reads on devices. Every device is reached through its owner."""
from django.contrib.auth.models import User
from django.db.models import QuerySet

from devices import cache as callback_cache
from devices.cache import CallbackDevice
from devices.models import Device, DeviceProperty, Downlink
from devices.ratelimit import KEY_SECONDS, rate_key
from platform.auth import found_or_404
from platform.tokens import hash_matches, token_hash


def device_for_callback(username: str, device_id: str, token: str | None, *, rate_at: float | None = None
                        ) -> tuple[CallbackDevice | None, int | None]:
    """(device, counted): the device if the token is its callback token; None for an unknown or
    deactivated user, unknown device, missing or wrong token alike, so the answer reveals nothing.
    Cached (devices/cache.py). With `rate_at` (the time), the callback is also counted against the
    token's rate limit in the lookup's round trip (devices/ratelimit.py), and counted is that count
    (None when it was not counted: no shared cache, or it failed)."""
    if not token or "\x00" in username or "\x00" in device_id:
        # No user or device id holds a NUL (the database could not even be asked): unknown.
        return None, None
    hashed = token_hash(token)
    count = None if rate_at is None else (rate_key(hashed, rate_at), KEY_SECONDS)
    values, versions, counted = callback_cache.device_get(username, device_id, count)
    if values is None:
        # A deactivated owner's devices are unknown devices; read in the same query, so the cached
        # value carries it and a callback costs nothing more (devices/cache.py invalidates on the flip).
        values = (Device.objects.filter(owner__username=username, owner__is_active=True, device_id=device_id)
                  .values(*callback_cache.FIELDS).first())
        if values is None:
            return None, None
        callback_cache.device_put(username, device_id, values, versions)
    if not hash_matches(hashed, values["token_hash"]):
        return None, None
    return CallbackDevice(*[values[name] for name in callback_cache.FIELDS]), counted


def devices_for_owner(owner: User) -> QuerySet[Device]:
    return (Device.objects.filter(owner=owner).select_related("write_bucket", "call_endpoint")
            .prefetch_related("applications"))


def device_for_owner_or_404(owner: User, device_id: str) -> Device:
    """The owner's device, or Http404: the one look-up of the device pages and the API."""
    return found_or_404(devices_for_owner(owner).filter(device_id=device_id).first(), "device", device_id)


def property_for_device_or_404(device: Device, name: str) -> DeviceProperty:
    """The device's property, or Http404 (the device was reached through its owner)."""
    return found_or_404(DeviceProperty.objects.filter(device=device, name=name).first(), "property", name)


def downlinks_for_device(device: Device, limit: int) -> QuerySet[Downlink]:
    """Queued and delivered downlinks, newest first."""
    return device.downlinks.order_by("-id")[:limit]


DOWNLINK_SOURCES = {"api": "the API", "web": "this page", "dashboard": "a dashboard"}


def downlinks_for_page(device: Device, limit: int) -> list[Downlink]:
    """downlinks_for_device, each with where it came from in words (`source_label`) and, when an
    application queued it (its source is the connection's id), that application (`source_app`)."""
    downlinks = list(downlinks_for_device(device, limit))
    ids = {d.source for d in downlinks if d.source not in DOWNLINK_SOURCES}
    apps = {str(app.pk): app for app in device.owner.connections.all() if str(app.pk) in ids} if ids else {}
    for d in downlinks:
        d.source_app = apps.get(d.source)  # type: ignore[attr-defined]
        d.source_label = DOWNLINK_SOURCES.get(d.source, d.source)  # type: ignore[attr-defined]
    return downlinks
