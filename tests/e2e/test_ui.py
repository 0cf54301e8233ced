"""The web UI in a real browser (Debian's Chromium driven by Playwright) against a real web server (Granian)
and Celery worker: the flows of the issue, end to end. Screenshots of the main pages, on a
desktop and a phone-sized viewport, go to the folder printed at the start."""
import json
import re
import shlex
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from buckets.models import Record
from platform.clock import now_ms
from tests.stack import Stack, live_database_url, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ui]
SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def stack(transactional_db, tmp_path):
    running = Stack(env={"DATABASE_URL": live_database_url(), "ENDPOINTS_ALLOW_PRIVATE_IPS": "true"},
                    tmp_path=tmp_path)
    try:
        try:
            running.start_web()
        except requests.RequestException:  # a busy machine answered /healthz slowly: keep waiting
            wait_until(lambda: _answers(running.url), timeout=60, what="the web server to answer")
        running.start_worker()
        yield running
    finally:
        running.stop()


def _answers(url):
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code in (200, 503)
    except requests.RequestException:
        return False


@pytest.fixture
def receiver():
    """A cloud application's HTTP server: records what it receives."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"headers": dict(self.headers), "body": json.loads(body or b"null")})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"thanks": true}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.received = received
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()


@pytest.fixture
def browser(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are
    # still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SHOTS.mkdir(exist_ok=True)
    print(f"\nscreenshots: {SHOTS}")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield chromium
        chromium.close()


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page, stack, username="alice"):
    page.goto(f"{stack.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")


def test_device_application_flow(stack, receiver, browser, alice):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    sign_in(page, stack)
    expect(page.locator("h1")).to_contain_text("Welcome, alice")
    shot(page, "home-empty")

    # Create a device; its page shows the token once and a ready curl command.
    page.click("nav >> text=Devices")
    expect(page.locator(".empty")).to_contain_text("No devices yet")
    page.click("text=New device")
    page.fill("#id_device_id", "esp32")
    page.fill("#id_name", "Kitchen sensor")
    page.click("button:has-text('Create device')")
    page.wait_for_url(f"{stack.url}/devices/esp32/")
    expect(page.locator("#toasts .toast")).to_contain_text("Device esp32 created")
    expect(page.locator("#device-token")).to_be_visible()
    shot(page, "device-new")

    # Read the curl from the page and post with it, as a person would paste it.
    curl = shlex.split(page.locator("#snippet-curl").text_content().replace("\\\n", " "))
    url = curl[curl.index("-X") + 2]
    headers = dict(h.split(": ", 1) for h in (curl[i + 1] for i, a in enumerate(curl) if a == "-H"))
    body = curl[curl.index("-d") + 1]
    assert url == f"{stack.url}/v3/users/alice/devices/esp32/callback/data"
    assert headers["Authorization"] == f"Bearer {page.locator('#device-token').text_content()}"
    response = requests.post(url, data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text

    # The message appears live on the device page (htmx polling), without a reload.
    expect(page.locator("#messages")).to_contain_text('"temperature":21.5', timeout=20_000)
    expect(page.locator("#stats")).to_contain_text("connected")
    shot(page, "device-message")

    # Create an HTTP application through ThingPark's flow.
    page.click("nav >> text=Applications")
    expect(page.locator(".empty")).to_contain_text("No applications yet")
    page.click("#create-application")
    page.click("#type-http")
    expect(page.locator("label[for=id_name]")).to_contain_text("Application Name*")
    expect(page.locator("label[for=id_destination_url]")).to_contain_text("Destination URL*")
    page.fill("#id_name", "My cloud")
    page.fill("#id_destination_url", f"{receiver.url}/first")
    page.locator("input[name=headers_key]").first.fill("X-Thing")
    page.locator("input[name=headers_value]").first.fill("{DevEUI}")
    page.click("text=+ Add header")
    page.locator("input[name=headers_key]").nth(1).fill("X-Customer")
    page.locator("input[name=headers_value]").nth(1).fill("{CustomerID}")
    page.fill("#id_description", "Receives the kitchen data")
    shot(page, "application-create")
    page.click("button:has-text('Create')")
    page.wait_for_url(re.compile(r".*/applications/[0-9a-f-]{36}/$"))
    toast = page.locator("#toasts .toast")
    expect(toast).to_contain_text("Application My cloud created.")
    box = toast.bounding_box()
    assert box["x"] > 1280 / 2 and box["y"] < 100  # top right
    expect(page.locator("#state")).to_have_text("OPENED")
    expect(page.locator("#downlink-url")).to_contain_text("/iot-flow/downlinkMessages/")
    app_url = page.url

    # Edit the destination URL: Edit icon -> field with Confirm icon -> confirmation window.
    page.click("[aria-label='Edit Destination URL']")
    field = page.locator("#setting-destination_url input[name=destination_url]")
    field.fill(f"{receiver.url}/uplink")
    page.click("[aria-label='Confirm Destination URL']")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Save the new Destination URL")
    shot(page, "application-confirm")
    page.click("#confirm-ok")
    expect(page.locator("#toasts")).to_contain_text("Application My cloud updated.")
    expect(page.locator("#setting-destination_url")).to_contain_text(f"{receiver.url}/uplink")

    # From the device page: Add an application -> select -> Confirm -> notification.
    page.goto(f"{stack.url}/devices/esp32/")
    page.click("#add-application")
    page.select_option("#id_connection", label="My cloud")
    page.click("#applications button:has-text('Confirm')")
    expect(page.locator("#toasts")).to_contain_text("Application My cloud added to esp32.")
    expect(page.locator("#applications")).to_contain_text("My cloud")

    # The next message reaches the application, and its details say it worked.
    requests.post(url, json={"temperature": 22}, headers={"Authorization": headers["Authorization"]}, timeout=10)
    page.goto(app_url)
    expect(page.locator("#activity")).to_contain_text("HTTP 200", timeout=30_000)
    expect(page.locator("#activity")).to_contain_text("esp32")
    assert receiver.received[-1]["body"]["DevEUI_uplink"]["payload"] == {"temperature": 22}
    assert receiver.received[-1]["headers"]["X-Thing"] == "esp32"
    shot(page, "application-details")
    page.close()


def test_screenshots_of_the_main_pages(stack, browser, alice, bucket, device):
    now = now_ms()
    Record.objects.bulk_create([Record(bucket=bucket, index=i, ts=now - i * 600_000,
                                       val={"temperature": 20 + (i % 7) * 0.8, "humidity": 40 + (i % 5) * 2})
                                for i in range(140)])
    for label, viewport in (("desktop", {"width": 1280, "height": 900}), ("phone", PHONE)):
        page = browser.new_page(viewport=viewport)
        page.set_default_timeout(15_000)
        sign_in(page, stack)
        for name, path in (("home", "/"), ("devices", "/devices/"), ("device", "/devices/d1/"),
                           ("buckets", "/buckets/"), ("bucket", "/buckets/b1/?range=24h"),
                           ("endpoints", "/endpoints/"), ("applications", "/applications/"),
                           ("tokens", "/tokens/")):
            page.goto(f"{stack.url}{path}")
            page.wait_for_load_state("networkidle") if name != "device" else page.wait_for_selector("#messages")
            shot(page, f"{label}-{name}")
        page.goto(f"{stack.url}/buckets/b1/?range=24h")
        assert page.locator(".chart svg polyline").count() == 2
        # A chart wider than a phone scrolls sideways and opens at its newest end (it opened at
        # the oldest, the data off-screen, and looked empty).
        assert page.evaluate("""() => { const c = document.querySelector('#chart');
            return c.scrollWidth <= c.clientWidth || c.scrollLeft + c.clientWidth >= c.scrollWidth - 1; }""")
        # Range presets swap the data part in place and keep the URL shareable.
        page.click(".tabs >> text=7d")
        expect_url = re.compile(r".*range=7d.*")
        page.wait_for_url(expect_url)
        assert "one point per" in page.locator("#data").text_content()
        page.close()


def test_account_page_changes_the_password(stack, browser, alice):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=PHONE)
    page.set_default_timeout(15_000)
    sign_in(page, stack)
    page.click("header a.who")  # the username in the header
    page.wait_for_url(f"{stack.url}/account/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.fill("#id_old_password", "alice-password-1")
    page.fill("#id_new_password1", "a-new-long-secret")
    page.fill("#id_new_password2", "a-new-long-secret")
    page.click("text=Change password")
    expect(page.locator("#toasts .toast")).to_contain_text("Password changed.")
    shot(page, "phone-account")
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login/"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", "a-new-long-secret")
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
    page.close()
