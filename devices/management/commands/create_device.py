from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from buckets.models import Bucket
from devices.models import Device
from devices.services import device_create, device_token_regenerate
from platform.lan import command_site_url
from platform.validators import id_validator


def curl_example(username, device_id, token):
    url = f"{command_site_url(settings.SITE_URL, settings.VAR_DIR)}/v3/users/{username}/devices/{device_id}/callback/data"
    return (f"curl -X POST '{url}' -H 'Authorization: Bearer {token}' "
            f"-H 'Content-Type: application/json' -d '{{\"temperature\": 21.5, \"humidity\": 40}}'")


def device_with_new_token(user, device_id: str, bucket_id: str, existing: Device | None) -> str:
    """A new callback token for `existing`, or for a new device `device_id` writing to `bucket_id`
    (created if missing). Returns the token, which only its hash keeps after this."""
    if existing is not None:
        return device_token_regenerate(device=existing)
    target, _ = Bucket.objects.get_or_create(owner=user, bucket_id=bucket_id, defaults={"name": f"{device_id} data"})
    _, token = device_create(owner=user, device_id=device_id, write_bucket=target)
    return token


class Command(BaseCommand):
    help = ("Creates an HTTP device (and a bucket for its data) and prints its callback token and a curl "
            "that posts to it. With --regenerate, gives an existing device a new token.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("device_id")
        parser.add_argument("--bucket", help="bucket id to write into (created if missing); default: the device id")
        parser.add_argument("--regenerate", action="store_true", help="new token for an existing device")

    @transaction.atomic
    def handle(self, *args, username, device_id, bucket, regenerate, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        for what, value in (("device id", device_id), ("bucket id", bucket)):
            try:
                if value is not None:
                    id_validator(value)
            except ValidationError:
                raise CommandError(f"{value!r} is not a {what}: use 1 to 64 letters, digits, '_' or '-'.") from None
        existing = Device.objects.filter(owner=user, device_id=device_id).first()
        if existing and not regenerate:
            raise CommandError(f"{username} already has a device {device_id!r}; add --regenerate for a new token.")
        token = device_with_new_token(user, device_id, bucket or device_id, existing)
        self.stdout.write(f"token: {token}")
        self.stdout.write(curl_example(username, device_id, token))
