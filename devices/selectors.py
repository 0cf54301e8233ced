"""Reads on devices. Every device is reached through its owner."""
from django.http import Http404

from devices.models import Device, DeviceProperty
from platform.tokens import token_matches


def device_for_callback(username, device_id, token):
    """The device if the token is its callback token; None for an unknown user, unknown device,
    missing or wrong token alike, so the answer reveals nothing."""
    if not token:
        return None
    device = (Device.objects.filter(owner__username=username, device_id=device_id)
              .only("id", "owner_id", "device_id", "name", "enabled", "token_hash", "send_property",
                    "timeout", "connected").first())
    if device is None or not token_matches(token, device.token_hash):
        return None
    return device


def device_for_owner(owner, device_id):
    return Device.objects.filter(owner=owner, device_id=device_id).first()


def devices_for_owner(owner):
    return (Device.objects.filter(owner=owner).select_related("write_bucket", "call_endpoint")
            .prefetch_related("applications"))


def device_for_owner_or_404(owner, device_id):
    device = devices_for_owner(owner).filter(device_id=device_id).first()
    if device is None:
        raise Http404(f"No device '{device_id}'.")
    return device


def property_or_404(device, name):
    prop = DeviceProperty.objects.filter(device=device, name=name).first()
    if prop is None:
        raise Http404(f"Device '{device.device_id}' has no property '{name}'.")
    return prop


def downlinks_for_device(device, limit):
    """Queued and delivered downlinks, newest first."""
    return device.downlinks.order_by("-id")[:limit]
