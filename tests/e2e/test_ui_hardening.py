"""UI defects of issue 15 in a real browser: at 375 px no main page scrolls sideways, the
application's deliveries table has rows and readable columns, and the
navigation keeps every entry on screen; no page logs a 404 (the favicon); on the device page the
Property label focuses its own field, a bulk message is cut with "show more", and properties and
downlinks update live; a test send shows up in the endpoint's call log without a reload."""
import json

import pytest
import requests

from buckets.models import Record
from devices.services import downlink_queue, property_set
from endpoints.models import Connection, Endpoint
from platform.models import AccessToken
from tests.e2e.test_ui import SHOTS, browser, receiver, sign_in, stack  # noqa: F401  (fixtures)
from tests.stack import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ui]
PHONE = {"width": 375, "height": 812}


@pytest.fixture
def seeded(alice, device, receiver):  # noqa: F811
    """Content that used to overflow: long token names, a bulk message, headers, deliveries."""
    for name in ("grafana-dashboard-on-the-office-wall", "laptop"):
        AccessToken.issue(user=alice, name=name)
    app = Connection.objects.create(owner=alice, name="Cloud receiver with a rather long name",
                                    destination_url=f"{receiver.url}/uplink",
                                    headers={"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123456789",
                                             "X-Thing": "{DevEUI}"})
    device.applications.add(app)
    Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/hook")
    property_set(device_id=device.pk, name="config", value={"interval": 60, "mode": "eco"})
    return {"app": app}


def _post(stack, device, body):  # noqa: F811
    return requests.post(f"{stack.url}/v3/users/alice/devices/d1/callback/data", data=json.dumps(body),
                         headers={"Authorization": f"Bearer {device.token}", "Content-Type": "application/json"},
                         timeout=10)


# What sticks out, for the failure message: the innermost elements whose right edge passes the viewport.
_TOO_WIDE_JS = """[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1
  && ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth + 1))
  .slice(0, 5).map(e => e.outerHTML.slice(0, 200))"""


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_main_pages_at_375px_have_no_sideways_scroll(stack, browser, seeded, device):  # noqa: F811
    assert _post(stack, device, [{"temperature": 20 + i, "note": "x" * 40} for i in range(30)]).status_code == 200
    # Every page is measured with its content: the records stored (a page measured before the
    # worker stored them passed while the stored ones overflowed).
    wait_until(lambda: Record.objects.filter(bucket__bucket_id="b1").count() == 30, what="the records stored")
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(15_000)
    not_found = []
    page.on("response", lambda r: not_found.append(r.url) if r.status == 404 else None)
    sign_in(page, stack)
    app = seeded["app"]
    paths = ["/", "/devices/", "/devices/d1/", "/buckets/", "/buckets/b1/", "/endpoints/", "/endpoints/e1/",
             "/applications/", f"/applications/{app.pk}/", f"/applications/{app.pk}/?edit=headers", "/tokens/"]
    wide = []
    for path in paths:
        page.goto(f"{stack.url}{path}")
        page.wait_for_load_state("load")
        if not _no_sideways_scroll(page):
            page.screenshot(path=str(SHOTS / "phone-too-wide.png"), full_page=True)
            wide.append((path, page.evaluate("document.documentElement.scrollWidth"), page.evaluate(_TOO_WIDE_JS)))
        tokens_link = page.locator("nav >> text=Access tokens").bounding_box()
        assert tokens_link and 0 <= tokens_link["x"] and tokens_link["x"] + tokens_link["width"] <= PHONE["width"], path
    assert wide == []
    # The header editor gives its inputs room: at least ~20 characters each.
    page.goto(f"{stack.url}/applications/{app.pk}/?edit=headers")
    width = page.locator("#setting-headers input[name=headers_value]").first.bounding_box()["width"]
    assert width >= 150, width
    assert not_found == []
    page.close()


def test_application_deliveries_at_375px_have_rows_and_readable_columns(stack, browser, seeded, device):  # noqa: F811
    from playwright.sync_api import expect

    assert _post(stack, device, {"temperature": 21.5}).status_code == 200
    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(15_000)
    sign_in(page, stack)
    page.goto(f"{stack.url}/applications/{seeded['app'].pk}/")
    # The worker forwards the message; the activity part refreshes itself every 3 s.
    rows = page.locator("#activity table tr:has(td)")
    expect(rows.first).to_contain_text("HTTP 200", timeout=30_000)
    cells = page.evaluate("""() => [...document.querySelectorAll('#activity table tr:has(td) > td')]
        .filter(td => td.offsetParent !== null).map(td => td.getBoundingClientRect().width)""")
    # Readable: every shown column keeps room for a word (about 7 characters), and the table fits
    # the phone rather than hiding columns behind a sideways scroll.
    assert cells and min(cells) >= 56, cells
    assert page.evaluate("""() => { const wrap = document.querySelector('#activity .table-wrap');
        return wrap.scrollWidth <= wrap.clientWidth; }"""), "the deliveries table scrolls sideways"
    assert _no_sideways_scroll(page)
    page.close()


def test_device_page_labels_bulk_messages_and_live_parts(stack, browser, seeded, device):  # noqa: F811
    from playwright.sync_api import expect

    assert _post(stack, device, [{"reading": i, "note": "y" * 60} for i in range(200)]).status_code == 200
    downlink_queue(device=device, payload={"led": "on"}, source="web")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    sign_in(page, stack)
    page.goto(f"{stack.url}/devices/d1/")
    # The Property label focuses the property name, not the callback settings' Name.
    page.click("#properties label:has-text('Property')")
    assert page.evaluate("document.activeElement.closest('#properties') !== null")
    assert page.locator("[id=id_name]").count() == 1
    # A bulk message is cut, with "show more" for the rest.
    message = page.locator("#messages .message").first
    expect(message.locator("summary")).to_contain_text("show more")
    assert page.evaluate("document.documentElement.scrollHeight") < 4000
    message.locator("summary").click()
    page.wait_for_timeout(4_000)  # longer than the 3 s refresh, which must not close it
    assert page.locator("#messages details.more[open]").count() == 1
    # The queued downlink is consumed by the next callback: the page says so without a reload.
    expect(page.locator("#downlinks")).to_contain_text("pending")
    answer = _post(stack, device, {"t": 1})
    assert answer.json() == {"led": "on"}
    # Live parts refresh every 5 s; the machine may be busy.
    expect(page.locator("#downlinks .badge").first).to_have_text("delivered", timeout=20_000)
    expect(page.locator("#downlinks")).to_contain_text("0 pending", timeout=20_000)
    # A property set elsewhere (the API) shows up too.
    property_set(device_id=device.pk, name="firmware", value="1.2.3")
    expect(page.locator("#properties")).to_contain_text("firmware", timeout=20_000)
    page.close()


def test_a_test_send_appears_in_the_call_log_without_reload(stack, browser, seeded):  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    sign_in(page, stack)
    page.goto(f"{stack.url}/endpoints/e1/")
    expect(page.locator("#calls")).to_contain_text("Nothing sent yet")
    page.click("#test button:has-text('Send test')")
    expect(page.locator("#test-answer")).to_contain_text("HTTP 200", timeout=15_000)
    expect(page.locator("#calls")).to_contain_text("HTTP 200", timeout=3_000)  # before the 10 s poll
    page.close()
