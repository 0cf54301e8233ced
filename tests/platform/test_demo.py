"""`make run`'s demo: a login, a device, and a dashboard for it, idempotent across restarts."""
import io

import pytest
from django.core.management import call_command

from dashboards.models import Dashboard

pytestmark = pytest.mark.django_db


def test_demo_has_a_dashboard_for_the_demo_device(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("demo", stdout=out)
    call_command("demo", stdout=out)  # a second start keeps the same dashboard
    dashboard = Dashboard.objects.get(owner__username="demo", dashboard_id="demo")
    assert {w["type"] for w in dashboard.widgets} >= {"chart", "value", "gauge", "status", "table"}
    assert "/dashboards/demo/" in out.getvalue()


def test_the_demo_devices_token_stays_the_same_across_restarts(settings, tmp_path, client):
    """A board flashed with the printed token keeps working after `make run` is restarted; a token
    regenerated on the device page is replaced by a working one on the next start."""
    from devices.models import Device
    from devices.services import device_token_regenerate

    settings.VAR_DIR = tmp_path

    def printed_token():
        out = io.StringIO()
        call_command("demo", stdout=out)
        lines = out.getvalue().splitlines()
        token = next(line.split("token: ")[1] for line in lines if "token: " in line)
        assert any(line.startswith("            curl -X POST") and f"Bearer {token}" in line for line in lines)
        return token

    first = printed_token()
    assert printed_token() == first
    device = Device.objects.get(owner__username="demo", device_id="demo-device")
    device_token_regenerate(device=device)
    third = printed_token()
    assert third != first
    response = client.post("/v3/users/demo/devices/demo-device/callback/data", {"temperature": 21.5},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {third}")
    assert response.status_code == 200, response.content
