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
