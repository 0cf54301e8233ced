from devices.models import Device
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
