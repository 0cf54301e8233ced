"""Sets up the demo login and device for the README's run command and prints how to use them."""
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.urls import reverse

from dashboards.services import dashboard_create
from devices.management.commands.create_device import curl_example, device_with_new_token
from platform.lan import reachable_from_this_computer_only
from platform.tokens import hash_matches, token_hash

# The demo device's dashboard: its data (the curl posts temperature and humidity) and its status.
DEMO_WIDGETS = [
    {"type": "chart", "title": "Last 24 hours", "source": {"bucket": "demo-bucket", "range": "24h"}},
    {"type": "value", "title": "Temperature", "source": {"bucket": "demo-bucket", "fields": ["temperature"]},
     "options": {"unit": "°C", "decimals": 1}},
    {"type": "gauge", "title": "Humidity", "source": {"bucket": "demo-bucket", "fields": ["humidity"]},
     "options": {"unit": "%", "min": 0, "max": 100}},
    {"type": "status", "title": "demo-device", "source": {"device": "demo-device"}},
    {"type": "table", "title": "Latest records", "source": {"bucket": "demo-bucket", "items": 8}},
    {"type": "downlink", "title": "Command", "source": {"device": "demo-device"},
     "options": {"payload": {"led": "on"}, "label": "Turn the LED on"}},
]


def demo_device_token(user) -> str:
    """The demo device's callback token, made once and kept under var/ (as the password is), so a
    board flashed with it keeps working across restarts. Only its hash is in the database; a new
    one is made when the kept one no longer matches (regenerated on the device page, say)."""
    token_file = settings.VAR_DIR / "demo_device_token"
    kept = token_file.read_text().strip() if token_file.exists() else ""
    device = user.devices.filter(device_id="demo-device").first()
    if device is not None and kept and hash_matches(token_hash(kept), device.token_hash):
        return kept
    token = device_with_new_token(user, "demo-device", "demo-bucket", device)
    token_file.write_text(token)
    token_file.chmod(0o600)
    return token


class Command(BaseCommand):
    help = "Creates the demo user (once) and demo device, then prints the URL, the login and a curl."

    def handle(self, *args, **options):
        User = get_user_model()
        password_file = settings.VAR_DIR / "demo_password"
        user = User.objects.filter(username="demo").first()
        if user is None:
            password = secrets.token_urlsafe(9)
            user = User.objects.create_superuser("demo", "demo@example.com", password)
            password_file.write_text(password)
            password_file.chmod(0o600)
        password = password_file.read_text().strip() if password_file.exists() else "(unchanged: set it with manage.py changepassword demo)"
        self.stdout.write("")
        self.stdout.write(f"  Open      {settings.SITE_URL}/")
        self.stdout.write(f"  Sign in   demo / {password}")
        self.stdout.write("  Post a message from the demo device (its token stays the same across restarts):")
        token = demo_device_token(user)
        self.stdout.write(f"            token: {token}")
        self.stdout.write(f"            {curl_example('demo', 'demo-device', token)}")
        self.stdout.write(f"  Then see it on {settings.SITE_URL}{reverse('bucket_detail', args=['demo-bucket'])}"
                          f" (or in the admin: {settings.SITE_URL}/admin/buckets/record/)")
        if not user.dashboards.filter(dashboard_id="demo").exists():
            dashboard_create(owner=user, dashboard_id="demo", name="Demo device", widgets=DEMO_WIDGETS)
        self.stdout.write(f"  and live on its dashboard: {settings.SITE_URL}{reverse('dashboard_detail', args=['demo'])}")
        site = settings.SITE_URL
        if reachable_from_this_computer_only(urlsplit(site).hostname):
            self.stdout.write(f"  A board  {site} works from this computer only. For a device on your network,")
            self.stdout.write("           run `make run HOST=0.0.0.0` (listens on the network; URLs then use this")
            self.stdout.write("           machine's LAN address), or set SITE_URL to the address your devices reach.")
        else:
            self.stdout.write(f"  A board  devices post to {site} (SITE_URL); make sure they can reach it.")
        self.stdout.write("")
