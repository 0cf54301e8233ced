"""Alarms from the UI alone, in a real browser against the web server (Granian) and a Celery worker: make the
rule "temperature > 30 for a while" (3 seconds here instead of 2 minutes), post data as the
device does, see the alarm open, get the endpoint call and the e-mail (a real local SMTP
server), acknowledge it, see it normalize when the values drop; then a "no data" rule."""
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from alarms.evaluation import alarms_sweep
from devices.models import Device
from endpoints.models import Endpoint
from tests.e2e.test_ui import browser, shot, sign_in  # noqa: F401  (fixtures and helpers shared)
from tests.endpoints.conftest import receiver  # noqa: F401  (a real local HTTP server)
from tests.smtp import smtp  # noqa: F401  (a real local SMTP server)
from tests.stack import Stack, live_database_url, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ui]


@pytest.fixture
def stack(transactional_db, tmp_path, smtp):  # noqa: F811
    running = Stack(env={"DATABASE_URL": live_database_url(), "ENDPOINTS_ALLOW_PRIVATE_IPS": "true",
                         "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_FROM": "alarms@example.com"},
                    tmp_path=tmp_path)
    try:
        running.start_web().start_worker()
        yield running
    finally:
        running.stop()


def test_alarm_from_rule_to_normalized(stack, browser, receiver, smtp, alice, device):  # noqa: F811
    from playwright.sync_api import expect

    Endpoint.objects.create(owner=alice, endpoint_id="pager", url=f"{receiver.url}/alarm",
                            body='{"text": "{{alarm.rule}} {{alarm.state}} on {{alarm.device}}: {{alarm.value}}"}')
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    sign_in(page, stack)

    page.locator("nav").get_by_role("link", name="Alarms").click()
    expect(page.locator(".empty")).to_contain_text("No open alarms")
    page.get_by_role("link", name="New rule").first.click()
    page.get_by_label("Rule id").fill("too-hot")
    page.get_by_label("Name", exact=True).fill("Too hot")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_label("Watch").select_option(label="Bucket field (each new record)")
    page.get_by_label("Bucket", exact=True).select_option(label="b1")
    page.get_by_label("Field", exact=True).fill("temperature")
    expect(page.get_by_label("Silence (minutes)")).to_be_hidden()  # only for silence rules
    page.get_by_label("Condition").select_option(label="greater than (gt)")
    page.get_by_label("Value", exact=True).fill("30")
    page.get_by_label("Confirm").select_option(label="When the condition holds for a number of seconds")
    page.get_by_label("Holds for (seconds)").fill("3")
    page.get_by_label("pager").check()
    page.get_by_label("E-mail addresses").fill("ops@example.com")
    shot(page, "alarm-rule-form")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator("#toasts")).to_contain_text("Rule too-hot created.")
    expect(page.locator("#rule-too-hot")).to_contain_text("b1.temperature")
    expect(page.locator("#rule-too-hot")).to_contain_text("for 3 s")

    # The device posts, as its snippet does: hot, and still hot 3 seconds later.
    callback = f"{stack.url}/v3/users/alice/devices/d1/callback/data"
    auth = {"Authorization": f"Bearer {device.token}"}
    assert requests.post(callback, json={"temperature": 35}, headers=auth, timeout=10).status_code == 200
    page.wait_for_timeout(3500)
    assert requests.post(callback, json={"temperature": 36.5}, headers=auth, timeout=10).status_code == 200

    page.locator("nav").get_by_role("link", name="Alarms").click()
    row = page.locator("tr.alarm", has_text="Too hot")
    expect(row).to_contain_text("active", timeout=30_000)  # live: the list polls
    expect(row).to_contain_text("d1")
    expect(row).to_contain_text("36.5")
    expect(row).to_contain_text("critical")
    expect(page.locator("#alarm-badge")).to_have_text("1", timeout=20_000)
    shot(page, "alarms-open")

    # The notifications went out through the worker: the endpoint call and the e-mail.
    call = receiver.wait_for(1, timeout=60)[0]
    assert call.json() == {"text": "too-hot active on d1: 36.5"}
    wait_until(lambda: smtp.messages, timeout=60, what="the alarm e-mail")
    assert smtp.messages[0].rcpt_tos == ["ops@example.com"]
    assert "[critical] Too hot: d1 ACTIVE" in smtp.messages[0].content.decode()

    # Acknowledge, through the confirmation window; a toast says so.
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Acknowledge alarm too-hot on d1?")
    expect(page.locator("#confirm-ok")).to_have_text("Acknowledge")  # says what it does, not "Proceed"
    page.click("#confirm-ok")
    expect(page.locator("#toasts")).to_contain_text("Alarm too-hot on d1 acknowledged.")
    expect(row).to_contain_text("acknowledged")
    expect(page.locator("#alarm-badge")).to_have_attribute("title", "0 active alarms")  # at once, not at its poll

    # The history page; the values drop and the alarm normalizes by itself.
    row.get_by_role("link", name="Too hot").click()
    expect(page.locator("#events")).to_contain_text("Acknowledged by alice")
    assert requests.post(callback, json={"temperature": 22}, headers=auth, timeout=10).status_code == 200
    expect(page.locator("#alarm-state")).to_have_text("normalized", timeout=30_000)
    expect(page.locator("#events")).to_contain_text("the condition no longer holds")
    shot(page, "alarm-history")

    # The device page lists open alarms only: none now.
    page.goto(f"{stack.url}/devices/d1/")
    expect(page.locator("#device-alarms")).to_have_count(0)

    # "No data for 5 minutes": made in the form, fired by the beat sweep when the device is quiet.
    page.goto(f"{stack.url}/alarms/rules/+new/")
    page.get_by_label("Rule id").fill("quiet")
    page.get_by_label("Watch").select_option(label="Silence (no message for N minutes)")
    expect(page.get_by_label("Field", exact=True)).to_be_hidden()
    page.get_by_label("Silence (minutes)").fill("5")
    page.get_by_role("button", name="Create rule").click()
    expect(page.locator("#rule-quiet")).to_contain_text("no message for 5 min")
    Device.objects.filter(pk=device.pk).update(last_seen=timezone.now() - timedelta(minutes=6))
    alarms_sweep()  # what beat runs every 30 s
    page.locator("nav").get_by_role("link", name="Alarms").click()
    expect(page.locator("tr.alarm", has_text="quiet")).to_contain_text("active", timeout=20_000)
    page.goto(f"{stack.url}/devices/d1/")
    expect(page.locator("#device-alarms")).to_contain_text("quiet")
    shot(page, "device-open-alarm")
    page.close()
