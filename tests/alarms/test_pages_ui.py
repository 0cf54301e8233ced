"""The Alarms pages in a real browser (Chromium, Playwright) against the web server, from a UI
walkthrough: an action on the "All" tab stays on it; the rule form says every error at once, at
the top; on a phone (390 px) the lists and the history are read without sideways scrolling.
Screenshots (desktop and phone) go to tests/e2e/screenshots/alarms-*.png."""
import pytest
import requests

from alarms.models import Alarm
from devices.services import device_create
from tests.alarms.conftest import ingest, make_rule
from tests.e2e.test_ui import PHONE, browser, shot, sign_in  # noqa: F401  (fixtures and helpers shared)
from tests.stack import Stack, live_database_url, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ui]
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(autouse=True)
def _alarm_settings(settings):
    """As tests/alarms/conftest.py's, with the default password hasher: the web server, a process
    of its own, checks alice's password with it."""
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url(), "ENDPOINTS_ALLOW_PRIVATE_IPS": "true"},
                    tmp_path=tmp_path)
    try:
        running.start_web()
        yield running
    finally:
        running.stop()


@pytest.fixture
def alarms(alice, bucket, device):
    """Open and closed alarms on devices with long ids, from rules with a normalize condition."""
    north, _ = device_create(owner=alice, device_id="greenhouse-north-0001", write_bucket=bucket)
    make_rule(alice, name="Too hot in the greenhouse", normalize={"op": "lt", "value": 25},
              confirm={"type": "sequence", "count": 1}, devices=[device, north], emails=["ops@example.com"])
    make_rule(alice, rule_id="humid", severity="low", field="humidity", condition={"op": "between", "value": 60,
                                                                                "max": 100})
    ingest(device, {"temperature": 41.5, "humidity": 80})
    ingest(north, {"temperature": 35.25, "humidity": 10})
    ingest(north, {"temperature": 20})  # too-hot on the north house normalizes: a closed alarm
    return Alarm.objects.all()


def _new_page(browser, stack, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(15_000)
    sign_in(page, stack)
    return page


def _fits(page, selector):
    """The element's content is no wider than the element: nothing hidden off to the side."""
    return page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth + 1")


def test_an_action_on_the_all_tab_stays_on_the_all_tab(stack, browser, alarms):  # noqa: F811
    from playwright.sync_api import expect

    page = _new_page(browser, stack, DESKTOP)
    page.goto(f"{stack.url}/alarms/?show=all")
    expect(page.locator("tr.alarm")).to_have_count(3)
    shot(page, "alarms-all")
    page.locator("tr.alarm", has_text="humid").get_by_role("button", name="Acknowledge").click()
    page.click("#confirm-ok")
    expect(page.locator("#toasts")).to_contain_text("acknowledged")
    expect(page.locator("tr.alarm")).to_have_count(3)  # the normalized one is still listed
    expect(page.locator("#alarm-rows")).to_have_attribute("hx-get", "/alarms/?show=all")
    expect(page.locator(".tabs a.current")).to_have_text("All")
    page.wait_for_timeout(5500)  # the list's poll: still the "All" list
    expect(page.locator("tr.alarm")).to_have_count(3)
    page.close()


def test_phone_lists_and_history_need_no_sideways_scrolling(stack, browser, alarms):  # noqa: F811
    from playwright.sync_api import expect

    page = _new_page(browser, stack, PHONE)
    page.goto(f"{stack.url}/alarms/?show=all")
    expect(page.locator("tr.alarm")).to_have_count(3)
    shot(page, "alarms-all-phone")
    assert _fits(page, "#alarm-rows") and _fits(page, "#alarm-rows .table-wrap")
    for button in page.locator("tr.alarm button").all():
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], button.text_content()
    assert page.locator("tr.alarm .badge").first.bounding_box()["x"] < PHONE["width"]  # the state is seen

    page.goto(f"{stack.url}/alarms/rules/")
    shot(page, "alarm-rules-phone")
    assert _fits(page, "main .card") and _fits(page, "main .table-wrap")
    devices = page.locator("#rule-too-hot td", has_text="greenhouse-north-0001")
    assert devices.evaluate("e => e.getBoundingClientRect().width") >= 200  # a device id is not cut mid-word
    expect(page.locator("#rule-too-hot")).to_contain_text("normalizes when < 25")

    page.goto(f"{stack.url}/alarms/{Alarm.objects.get(rule__rule_id='humid').pk}/")
    shot(page, "alarm-detail-phone")
    assert _fits(page, "#events") and _fits(page, "#events .table-wrap")
    detail = page.locator("#events tr.event td").nth(2)
    assert detail.evaluate("e => e.getBoundingClientRect().width") >= 250  # under the time, the card's width
    page.close()


def test_desktop_pages_keep_their_tables(stack, browser, alarms):  # noqa: F811
    page = _new_page(browser, stack, DESKTOP)
    page.goto(f"{stack.url}/alarms/rules/")
    shot(page, "alarm-rules")
    assert page.locator("main thead").first.is_visible()
    page.goto(f"{stack.url}/alarms/{Alarm.objects.get(rule__rule_id='too-hot', device__device_id='d1').pk}/")
    shot(page, "alarm-detail")
    assert page.locator("#events thead").is_visible()
    page.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_rule_form_says_every_error_at_the_top(stack, browser, alice, viewport):  # noqa: F811
    from playwright.sync_api import expect

    page = _new_page(browser, stack, viewport)  # a new user: no buckets, devices or endpoints
    page.goto(f"{stack.url}/alarms/rules/+new/")
    expect(page.locator("#make-first-bucket")).to_contain_text("You have no buckets yet")
    expect(page.locator("#make-first-devices a")).to_have_attribute("href", "/devices/+new/")
    page.get_by_label("Rule id").fill("too-hot")
    page.get_by_label("Condition").select_option(label="between (inclusive)")
    page.get_by_label("Value", exact=True).fill("20")
    page.get_by_label("Remind every (minutes)").fill("0")
    page.get_by_role("button", name="Create rule").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("3 fields need fixing")
    expect(summary).to_be_focused()
    assert summary.bounding_box()["y"] < viewport["height"]  # seen without scrolling
    expect(summary).to_contain_text("Bucket")
    expect(summary).to_contain_text("Between needs an upper bound")
    shot(page, f"alarm-rule-form-errors-{'phone' if viewport == PHONE else 'desktop'}")
    summary.get_by_role("link", name="Upper bound").click()
    wait_until(lambda: page.evaluate("location.hash") == "#id_max", what="the link to the upper bound")
    assert requests.get(f"{stack.url}/healthz", timeout=5).ok
    page.close()
