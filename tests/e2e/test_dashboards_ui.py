"""Dashboards in a real browser against a real web server (Granian) and Celery, driven by visible labels: build
a dashboard with each widget type, edit one through its form, watch a value update while the
device posts, use the controls, share it, open the link in a fresh browser context (read-only),
revoke it (404)."""
import json

import pytest
import requests
from django.core.cache import cache

from buckets.models import Record
from dashboards.models import Dashboard
from devices.services import property_set
from platform.clock import now_ms
from tests.e2e.test_ui import PHONE, browser, shot, sign_in, stack  # noqa: F401  (fixtures and helpers)

pytestmark = [pytest.mark.e2e, pytest.mark.ui]

WIDGETS = [  # (type label, title, what to fill after choosing the type)
    ("Chart", "Temperature chart", {"bucket": "b1", "check": ["temperature"]}),
    ("Value", "Temperature now", {"bucket": "b1", "check": ["temperature"], "Unit": "°C"}),
    ("Gauge", "Humidity", {"bucket": "b1", "check": ["humidity"], "Unit": "%"}),
    ("Status", "Sensor", {"device": "d1"}),
    ("Map", "Track", {"bucket": "b1"}),
    ("Table", "Latest records", {"bucket": "b1"}),
    ("Property", "Config", {"device": "d1", "Property": "config"}),
    ("Downlink button", "LED", {"device": "d1", "Payload (JSON)": '{"led": "on"}', "Button label": "LED on"}),
]


def choose(page, name, **option):
    """Chooses in a select that re-renders the widget form (htmx), and waits for the new form: the
    old one is marked, so the next input goes to the form that fits the choice. htmx wires up the
    new form's selects only when it settles (20 ms after the swap, when it drops the form's
    `htmx-added` class): a choice made before that would fire no request."""
    from playwright.sync_api import expect

    page.locator("#widget-form").evaluate("form => { form.dataset.stale = '1'; }")
    page.get_by_label(name).select_option(**option)
    expect(page.locator("#widget-form:not([data-stale]):not(.htmx-added)")).to_be_attached()


def add_widget(page, type_label, title, inputs):
    from playwright.sync_api import expect

    page.get_by_role("link", name="Add widget").first.click()
    expect(page.get_by_role("heading", name="Add a widget")).to_be_visible()
    choose(page, "Widget type", label=type_label)
    if "bucket" in inputs:
        choose(page, "Bucket", value=inputs["bucket"])
    if "device" in inputs:
        choose(page, "Device", value=inputs["device"])
    for field in inputs.get("check", []):
        page.get_by_label(field, exact=True).check()
    for label, value in inputs.items():
        if label[0].isupper():
            page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Add widget").click()
    expect(page.locator("#toasts")).to_contain_text("added")


def test_build_watch_share_revoke(stack, browser, alice, bucket, device):  # noqa: F811
    from playwright.sync_api import expect

    cache.clear()  # the server's chart cache is keyed by bucket pk, which test databases reuse
    now = now_ms()
    Record.objects.bulk_create([Record(bucket=bucket, index=i, ts=now - i * 300_000, val={
        "temperature": 20 + (i % 7) * 0.5, "humidity": 40 + i % 5, "lat": 41.38 + i / 2000, "lon": 2.17 + i / 3000})
        for i in range(60)])
    property_set(device_id=device.pk, name="config", value={"interval": 60})

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    sign_in(page, stack)
    page.get_by_role("navigation").get_by_role("link", name="Dashboards").click()
    expect(page.locator(".empty")).to_contain_text("No dashboards yet")
    page.get_by_role("link", name="New dashboard").first.click()
    page.get_by_label("Dashboard id").fill("home")
    page.get_by_label("Name").fill("Home")
    page.get_by_role("button", name="Create dashboard").click()
    expect(page.locator("#toasts")).to_contain_text("Dashboard home created")

    for type_label, title, inputs in WIDGETS:
        add_widget(page, type_label, title, inputs)
    for _, title, _ in WIDGETS:
        expect(page.get_by_role("region", name=title)).to_be_visible()
    expect(page.get_by_role("region", name="Temperature chart").locator("svg polyline").first).to_be_attached()
    expect(page.get_by_role("region", name="Track").locator("svg.map")).to_be_visible()
    chart = page.get_by_role("region", name="Temperature chart").locator("svg")
    size = chart.bounding_box()
    # The drawing and its legend fit the card at its default size (they were cut off at the bottom).
    card = page.get_by_role("region", name="Temperature chart").bounding_box()
    legend = page.get_by_role("region", name="Temperature chart").locator(".legend").bounding_box()
    assert size["y"] + size["height"] <= legend["y"] + 1 and legend["y"] + legend["height"] <= card["y"] + card["height"]
    chart.hover(position={"x": size["width"] - 22, "y": size["height"] / 2})  # the newest points
    expect(page.locator(".chart-tip")).to_contain_text("temperature = ")  # hover values
    expect(page.get_by_role("region", name="Sensor")).to_contain_text("Disconnected")
    shot(page, "dashboard-built")

    # Resize and move on the grid, then delete a widget through the confirmation window.
    page.get_by_role("link", name="Edit layout").click()
    value = page.get_by_role("region", name="Temperature now")
    page.get_by_role("button", name="Make Temperature now wider").click()
    expect(page.locator("#toasts")).to_contain_text("made wider")
    expect(value).to_have_attribute("style", "--x:7;--y:1;--w:4;--h:2")
    page.get_by_role("button", name="Move Temperature now right").click()
    expect(value).to_have_attribute("style", "--x:8;--y:1;--w:4;--h:2")
    # The gauge it now covers moved down below it.
    expect(page.get_by_role("region", name="Humidity")).to_have_attribute("style", "--x:10;--y:3;--w:3;--h:3")
    page.get_by_role("button", name="Delete Latest records").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("Delete widget Latest records?")
    expect(page.locator("#confirm-ok")).to_have_text("Proceed")  # an icon button: no word to repeat
    page.click("#confirm-ok")
    expect(page.locator("#toasts")).to_contain_text("Widget Latest records deleted.")
    expect(page.get_by_role("region", name="Latest records")).to_have_count(0)

    # Edit a widget through its form: a new title, range and aggregate; saving leaves the grid mode.
    page.get_by_role("link", name="Edit Temperature chart").click()
    expect(page.get_by_role("heading", name="Edit widget Temperature chart")).to_be_visible()
    expect(page.locator("#widget-form:not([data-stale]):not(.htmx-added)")).to_be_attached()
    expect(page.get_by_label("temperature", exact=True)).to_be_checked()  # the stored choices are shown
    page.get_by_label("Title").fill("Temperature, 7 days")
    page.get_by_label("Range").select_option("7d")
    page.get_by_label("Aggregate interval").select_option("3h")
    page.get_by_label("Aggregate", exact=True).select_option("max")
    page.get_by_role("button", name="Save widget").click()
    expect(page.locator("#toasts")).to_contain_text("Widget Temperature, 7 days saved.")
    edited = page.get_by_role("region", name="Temperature, 7 days")
    expect(edited.locator("svg polyline").first).to_be_attached()
    source = Dashboard.objects.get(owner=alice, dashboard_id="home").widget("w1")["source"]
    assert source == {"bucket": "b1", "fields": ["temperature"], "range": "7d", "agg": "3h", "agg_type": "max"}

    # Live: the device posts, the value and the status follow without a reload.
    callback = f"{stack.url}/v3/users/alice/devices/d1/callback/data"
    auth = {"Authorization": f"Bearer {device.token}"}
    assert requests.post(callback, json={"temperature": 77.7, "humidity": 55}, headers=auth, timeout=10).ok
    expect(value).to_contain_text("77.7", timeout=30_000)
    expect(page.get_by_role("region", name="Sensor")).to_contain_text("Connected")
    expect(page.get_by_role("region", name="Humidity")).to_contain_text("55 %")

    # The owner's controls act.
    page.get_by_label("New value of Config").fill('{"interval": 30}')
    page.get_by_role("region", name="Config").get_by_role("button", name="Set").click()
    expect(page.locator("#toasts")).to_contain_text("Property config saved.")
    expect(page.get_by_role("region", name="Config")).to_contain_text('"interval": 30')
    page.get_by_role("button", name="LED on").click()
    expect(page.locator("#toasts")).to_contain_text("Downlink queued for d1")
    assert device.downlinks.get().payload == {"led": "on"}

    # Share; open the link in a fresh browser context (nobody signed in): read-only and live.
    page.get_by_role("button", name="Share read-only link").click()
    link = page.locator("#share-url").text_content().strip()
    assert "/shared/" in link
    shot(page, "dashboard-shared-owner")
    private = browser.new_context(viewport=PHONE)
    guest = private.new_page()
    guest.set_default_timeout(20_000)
    assert guest.goto(link).status == 200
    expect(guest.get_by_role("heading", name="Home")).to_contain_text("read-only")
    expect(guest.get_by_role("region", name="Temperature now")).to_contain_text("77.7")
    assert guest.get_by_role("navigation").count() == 0
    assert guest.get_by_role("button").count() == 0 and guest.locator("form").count() == 0
    assert guest.locator("a[href]").count() == 0
    expect(guest.get_by_role("region", name="LED")).to_contain_text("only the owner")
    assert requests.post(callback, json={"temperature": 66.6}, headers=auth, timeout=10).ok
    expect(guest.get_by_role("region", name="Temperature now")).to_contain_text("66.6", timeout=30_000)
    shot(guest, "dashboard-shared-phone")

    # Revoke through the confirmation window: the link answers 404.
    page.get_by_role("button", name="Revoke link").click()
    page.click("#confirm-ok")
    expect(page.locator("#toasts")).to_contain_text("Link revoked")
    assert guest.goto(link).status == 404
    assert json.loads(requests.get(f"{stack.url}/healthz", timeout=10).text)["database"] == "ok"
    private.close()
    page.close()


def test_the_widget_form_names_every_mistake_at_once_and_helps_a_new_user(stack, browser, alice, charlie):  # noqa: F811
    """One submit shows each mistake beside its input (it took three rounds, and a colour `red`
    was never flagged); a user with no bucket or device is told where to make one."""
    from playwright.sync_api import expect

    Dashboard.objects.create(owner=alice, dashboard_id="home", name="Home")
    Dashboard.objects.create(owner=charlie, dashboard_id="first", name="First")
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(20_000)
    sign_in(page, stack, "charlie")
    page.goto(f"{stack.url}/dashboards/first/widgets/+new/")
    choose(page, "Widget type", label="Gauge")
    for what, url in (("bucket", "/buckets/+new/"), ("device", "/devices/+new/")):
        hint = page.locator(".field", has=page.get_by_label(what.capitalize(), exact=True)).locator(".help")
        expect(hint).to_contain_text(f"You have no {what} yet")
        expect(hint.get_by_role("link", name="create one")).to_have_attribute("href", url)
    shot(page, "widget-form-new-user")

    page.goto(f"{stack.url}/dashboards/first/widgets/+new/")
    choose(page, "Widget type", label="Gauge")
    for label, value in (("Decimals", "9"), ("Min", "100"), ("Max", "0"), ("Colour", "red")):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Add widget").click()
    for label, says in (("Bucket", "Choose a bucket"), ("Decimals", "less than or equal to 6"),
                        ("Max", "max must be greater than min"), ("Colour", "#rgb or #rrggbb")):
        field = page.locator(".field.has-error", has=page.get_by_label(label, exact=True))
        expect(field.locator(".errorlist")).to_contain_text(says)
    shot(page, "widget-form-all-errors")
    for viewport, name in (({"width": 1280, "height": 800}, "desktop"), (PHONE, "phone")):
        page.set_viewport_size(viewport)
        shot(page, f"widget-form-all-errors-{name}")
    page.close()


def test_widget_captions_and_edit_controls_read_on_desktop_and_phone(stack, browser, alice, bucket, device):  # noqa: F811
    """The chart legend says what its number is, a table's header shows a long field name whole,
    and each layout control has a name, a title and (on a phone) a 40 px target."""
    from playwright.sync_api import expect

    cache.clear()
    now = now_ms()
    Record.objects.bulk_create([Record(bucket=bucket, index=i, ts=now - i * 300_000, val={
        "temperature": 20 + (i % 7) * 0.5, "humidity_percent": 40 + i % 5}) for i in range(30)])
    property_set(device_id=device.pk, name="config", value={"interval": 60})
    from dashboards.services import dashboard_create

    dashboard_create(owner=alice, dashboard_id="home", name="Home", widgets=[
        {"type": "chart", "title": "Temperature", "source": {"bucket": "b1", "fields": ["temperature"]}},
        {"type": "table", "title": "Latest", "layout": {"w": 3, "h": 4}, "source": {"bucket": "b1", "items": 5}},
        {"type": "property", "title": "Config", "source": {"device": "d1", "property": "config"}}])
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(20_000)
    sign_in(page, stack)
    page.goto(f"{stack.url}/dashboards/home/?edit=1")
    expect(page.get_by_role("region", name="Temperature").locator(".legend-caption")).to_contain_text(
        "Beside each field: the mean of the latest 5-minute interval")
    header = page.get_by_role("region", name="Latest").locator("th", has_text="humidity_percent")
    expect(header).to_have_attribute("title", "humidity_percent")
    # Wrapped inside the card, not cut by it (the table scrolled and "HUMIDITY_PE" was all one saw).
    wrap = page.get_by_role("region", name="Latest").locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth"), "the table is wider than its card"
    narrower = page.get_by_role("button", name="Make Latest narrower")
    expect(narrower).to_have_attribute("title", "Narrower")
    shot(page, "dashboard-captions-desktop")
    page.set_viewport_size(PHONE)
    for control in page.locator(".widget-controls .icon").all():
        size = control.bounding_box()
        assert size["width"] >= 40 and size["height"] >= 40, size
    expect(page.locator(".controls-key")).to_be_visible()  # a phone shows no title on hover
    shot(page, "dashboard-captions-phone")
    page.close()
