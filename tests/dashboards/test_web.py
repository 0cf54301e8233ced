"""The dashboard pages: building and editing widgets, live refresh, controls, sharing."""
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from buckets.models import Record
from dashboards import selectors, services
from dashboards.models import Dashboard
from dashboards.selectors import chart_height
from dashboards.widgets import MAX_Y
from devices.models import DeviceProperty, Downlink
from platform.clock import now_ms
from tests.web.conftest import HX, hx

pytestmark = pytest.mark.django_db


def test_list_create_and_empty_dashboard(web, alice):
    assert "No dashboards yet" in web.get("/dashboards/").text
    assert 'href="/dashboards/"' in web.get("/").text  # the navigation entry
    response = web.post("/dashboards/+new/", {"dashboard_id": "home", "name": "Home"})
    assert response.status_code == 302 and response["Location"] == "/dashboards/home/"
    page = web.get("/dashboards/home/")
    assert "No widgets yet" in page.text and "Dashboard home created" in page.text
    assert web.post("/dashboards/+new/", {"dashboard_id": "home"}).status_code == 400
    web.post("/dashboards/home/edit/", {"name": "House"})
    assert Dashboard.objects.get(owner=alice).name == "House"


def test_page_shows_every_widget_and_polls_one_url(web, dashboard, records):
    page = web.get("/dashboards/home/")
    assert page.status_code == 200
    for widget_id in ("chart", "value", "gauge", "status", "map", "table", "prop", "led"):
        assert f'id="wbody-{widget_id}"' in page.text
    assert page.text.count('hx-trigger="every 3s"') == 1
    assert "<polyline" in page.text and "Turn on" in page.text and "20.0" in page.text


def _clear_of_a_minute_boundary():
    """The stamp holds the current minute: a stamp taken just before a minute ends would not match
    the page's a moment later (the test, not the page, would be wrong). Start past the boundary."""
    left_ms = 60_000 - now_ms() % 60_000
    if left_ms < 5_000:
        time.sleep(left_ms / 1000 + 0.05)


def test_refresh_is_204_until_something_changes(web, dashboard, bucket, records):
    _clear_of_a_minute_boundary()
    stamp = selectors.dashboard_stamp(dashboard=dashboard)
    unchanged = web.get(f"/dashboards/home/refresh/?v={stamp}", **HX)
    assert unchanged.status_code == 204
    Record.objects.create(bucket=bucket, ts=now_ms() + 1000, val={"temperature": 99.5, "humidity": 1})
    with CaptureQueriesContext(connection) as queries:
        changed = web.get(f"/dashboards/home/refresh/?v={stamp}", **HX)
    assert changed.status_code == 200
    assert changed.text.count('hx-swap-oob="true"') == 8 and "99.5" in changed.text
    assert f"?v={stamp}" not in changed.text
    # session, user, dashboard, stamp (2), widgets (8 or fewer), the bucket's field names (cold here: then cached)
    assert len(queries) <= 17


def test_add_a_widget_from_the_form(web, dashboard, records):
    form = web.get("/dashboards/home/widgets/+new/?type=value&bucket=b1", **hx("widget-form"))
    assert "<html" not in form.text and 'value="temperature"' in form.text and "Fields" in form.text
    response = web.post("/dashboards/home/widgets/+new/", {"type": "value", "title": "Hum", "bucket": "b1",
                                                            "fields": ["humidity"], "unit": "%"})
    assert response.status_code == 302
    added = Dashboard.objects.get(pk=dashboard.pk).widgets[-1]
    assert added["source"] == {"bucket": "b1", "fields": ["humidity"]} and added["options"] == {"unit": "%"}
    bad = web.post("/dashboards/home/widgets/+new/", {"type": "value", "bucket": "b1"})
    # The form names the picker left empty, not the API's JSON ("fields": ["temperature"]).
    assert bad.status_code == 400 and "Choose the field to show." in bad.text
    foreign = web.post("/dashboards/home/widgets/+new/", {"type": "status", "device": "nope"})
    assert foreign.status_code == 400


def test_edit_move_resize_and_delete(web, dashboard):
    page = web.get("/dashboards/home/?edit=1")
    assert 'aria-label="Move Temperature right"' in page.text and 'hx-confirm="Delete widget Temperature?"' in page.text
    moved = web.post("/dashboards/home/widgets/chart/move/", {"move": "right"}, **hx("grid"))
    assert moved.status_code == 200 and 'id="grid"' in moved.text and "moved right" in moved.text
    web.post("/dashboards/home/widgets/chart/move/", {"move": "taller"}, **hx("grid"))
    assert Dashboard.objects.get(pk=dashboard.pk).widget("chart")["layout"] == {"x": 1, "y": 0, "w": 6, "h": 5}
    assert web.post("/dashboards/home/widgets/chart/move/", {"move": "sideways"}).status_code == 400
    edit = web.post("/dashboards/home/widgets/value/edit/", {"type": "value", "title": "Renamed", "bucket": "b1",
                                                             "fields": ["temperature"], "decimals": 2})
    assert edit.status_code == 302
    assert Dashboard.objects.get(pk=dashboard.pk).widget("value")["title"] == "Renamed"
    web.post("/dashboards/home/widgets/chart/delete/", **hx("grid"))
    assert Dashboard.objects.get(pk=dashboard.pk).widget("chart") is None


def test_property_and_downlink_controls(web, dashboard, device):
    response = web.post("/dashboards/home/widgets/prop/property/", {"value": "120"}, **HX)
    assert response.status_code == 200 and "Property config saved" in response.text and "120" in response.text
    assert DeviceProperty.objects.get(device=device, name="config").value == {"interval": 120}
    web.post("/dashboards/home/widgets/led/downlink/", **HX)
    downlink = Downlink.objects.get(device=device)
    assert downlink.payload == {"led": "on"} and downlink.source == "dashboard"
    assert web.post("/dashboards/home/widgets/led/property/", {"value": "1"}).status_code == 404
    assert web.post("/dashboards/home/widgets/prop/property/", {"value": '"a\\u0000b"'}).status_code == 400
    # 400 digits: past what the API and the device's own form take, and past what a float holds, so
    # every page drawing it as a number (and its shared link) answered 500.
    assert web.post("/dashboards/home/widgets/prop/property/", {"value": "9" * 400}).status_code == 400
    assert web.post("/dashboards/home/widgets/prop/property/", {"value": "on"}, **HX).status_code == 200
    assert DeviceProperty.objects.get(device=device, name="config").value == {"interval": "on"}


def test_share_page_is_read_only_and_revocable(web, dashboard, records, device):
    web.post("/dashboards/home/share/")
    page = web.get("/dashboards/home/")
    url = page.context["share_url"]
    assert url and url in page.text and "Revoke link" in page.text
    assert web.get("/dashboards/home/").context["share_url"] is None  # shown once
    path = url[url.index("/shared/"):]
    client = Client()  # someone holding the link, not signed in
    shared = client.get(path)
    assert shared.status_code == 200 and shared["Referrer-Policy"] == "no-referrer"
    text = shared.text
    assert "<nav" not in text and "hx-post" not in text and "<form" not in text and "csrf" not in text
    assert 'href="/devices/' not in text and 'href="/buckets/' not in text and "Turn on" in text
    assert 'id="wbody-chart"' in text and "20.0" in text
    assert client.post(path).status_code == 405
    assert client.get(f"{path}refresh/").status_code == 200
    # The controls' own URLs refuse anyone not signed in as the owner: nothing acts.
    assert client.post("/dashboards/home/widgets/led/downlink/").status_code == 302
    assert not Downlink.objects.exists()
    web.post("/dashboards/home/share/revoke/")
    assert client.get(path).status_code == 404 and client.get(f"{path}refresh/").status_code == 404


OWNER_ROUTES = [
    ("get", "/dashboards/home/"), ("get", "/dashboards/home/edit/"), ("post", "/dashboards/home/edit/"),
    ("post", "/dashboards/home/delete/"), ("get", "/dashboards/home/refresh/"), ("post", "/dashboards/home/share/"),
    ("post", "/dashboards/home/share/revoke/"), ("get", "/dashboards/home/widgets/+new/"),
    ("post", "/dashboards/home/widgets/+new/"), ("get", "/dashboards/home/widgets/chart/edit/"),
    ("post", "/dashboards/home/widgets/chart/move/"), ("post", "/dashboards/home/widgets/chart/delete/"),
    ("post", "/dashboards/home/widgets/prop/property/"), ("post", "/dashboards/home/widgets/led/downlink/"),
]


@pytest.mark.parametrize("method,path", OWNER_ROUTES)
def test_charlie_gets_404(outsider, dashboard, method, path):
    assert getattr(outsider, method)(path).status_code == 404
    assert Dashboard.objects.filter(pk=dashboard.pk, share_hash__isnull=True).count() == 1


def test_a_charts_drawing_is_as_tall_as_its_card_and_titles_are_shown_as_written(web, dashboard, records):
    services.widget_update(dashboard=dashboard, widget_id="status", data={
        "type": "status", "title": "sensor-1 (lower case)", "source": {"device": "d1"}})
    page = web.get("/dashboards/home/").text
    assert f'viewBox="0 0 480 {chart_height(4)}"' in page  # the 6 x 4 chart
    assert ">sensor-1 (lower case)</h2>" in page and ">Map</h2>" not in page and ">Where</h2>" in page


def test_a_widget_moved_onto_another_pushes_it_down(web, dashboard):
    # chart (0,0 6x4), value (6,0 3x2), gauge (9,0 3x3): the value grows onto the gauge.
    web.post("/dashboards/home/widgets/value/move/", {"move": "wider"}, **hx("grid"))
    layouts = {w["id"]: w["layout"] for w in Dashboard.objects.get(pk=dashboard.pk).widgets}
    assert layouts["value"] == {"x": 6, "y": 0, "w": 4, "h": 2}
    assert layouts["gauge"]["y"] == 2 and layouts["chart"] == {"x": 0, "y": 0, "w": 6, "h": 4}


def _value(widget_id, x, y, w, h):
    return {"id": widget_id, "type": "value", "source": {"bucket": "b1", "fields": ["t"]},
            "layout": {"x": x, "y": y, "w": w, "h": h}}


def test_a_move_that_would_push_a_widget_off_the_grid_changes_nothing_and_says_why(web, alice, bucket):
    # A full-width widget above one on the grid's last row: they used to pile up at row MAX_Y.
    tall = services.dashboard_create(owner=alice, dashboard_id="tall", widgets=[
        _value("top", 0, MAX_Y - 12, 12, 12), _value("low", 0, MAX_Y, 12, 2)])
    before = Dashboard.objects.get(pk=tall.pk).widgets
    response = web.post("/dashboards/tall/widgets/top/move/", {"move": "down"}, **hx("grid"))
    assert response.status_code == 200 and f"No room: widget low would be pushed below row {MAX_Y}" in response.text
    assert Dashboard.objects.get(pk=tall.pk).widgets == before


def test_an_edit_that_would_push_a_widget_off_the_grid_is_a_form_error(web, alice, bucket):
    # A value (3 x 2) made a chart grows to a chart's 6 x 4, onto the widget on the last row.
    tall = services.dashboard_create(owner=alice, dashboard_id="tall", widgets=[
        _value("small", 0, MAX_Y - 2, 3, 2), _value("low", 0, MAX_Y, 12, 2)])
    before = Dashboard.objects.get(pk=tall.pk).widgets
    page = web.post("/dashboards/tall/widgets/small/edit/", {"type": "chart", "title": "", "bucket": "b1",
                                                              "fields": "t", "range": "24h"})
    assert page.status_code == 400 and f"No room: widget low would be pushed below row {MAX_Y}" in page.text
    assert Dashboard.objects.get(pk=tall.pk).widgets == before


def test_an_edit_of_the_same_type_keeps_the_size_set_on_the_grid(web, dashboard):
    web.post("/dashboards/home/widgets/value/move/", {"move": "wider"}, **hx("grid"))
    web.post("/dashboards/home/widgets/value/edit/", {"type": "value", "title": "Renamed", "bucket": "b1",
                                                      "fields": "temperature"})
    value = Dashboard.objects.get(pk=dashboard.pk).widget("value")
    assert value["title"] == "Renamed" and value["layout"] == {"x": 6, "y": 0, "w": 4, "h": 2}


def test_no_free_place_for_a_new_widget_is_an_error_not_a_pile(web, api, alice, bucket):
    # Full-width widgets down to past the last row: no place is left for even a 1 x 1.
    full = [_value(f"w{i}", 0, 12 * i, 12, 12) for i in range(MAX_Y // 12 + 1)]
    services.dashboard_create(owner=alice, dashboard_id="full", widgets=full)
    page = web.post("/dashboards/full/widgets/+new/", {"type": "value", "title": "", "bucket": "b1", "fields": "t"})
    assert page.status_code == 400 and "No free place for a" in page.text
    response = api(alice).put("/v1/users/alice/dashboards/full", {"widgets": [
        *full, {"type": "value", "source": {"bucket": "b1", "fields": ["t"]}, "layout": {"w": 1, "h": 1}}]},
        format="json")
    assert response.status_code == 400 and "No free place for a 1 x 1 widget" in response.json()["error"]["message"]
    assert len(Dashboard.objects.get(dashboard_id="full").widgets) == len(full)


def test_admin_lists_dashboards_without_their_secret(client, dashboard, django_user_model):
    from dashboards import services

    services.share_create(dashboard=dashboard)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")
    client.force_login(admin)
    page = client.get("/admin/dashboards/dashboard/")
    assert page.status_code == 200 and "home" in page.text
    change = client.get(f"/admin/dashboards/dashboard/{dashboard.pk}/change/")
    assert change.status_code == 200 and dashboard.share_hash not in change.text



def test_admin_checks_widgets_as_the_api_does(client, dashboard, alice, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")
    client.force_login(admin)
    url = f"/admin/dashboards/dashboard/{dashboard.pk}/change/"
    form = {"owner": alice.pk, "dashboard_id": "home", "name": "Home", "description": ""}
    foreign = client.post(url, {**form, "widgets": '[{"type": "chart", "source": {"bucket": "elsewhere"}}]'})
    assert foreign.status_code == 200 and "0.source.bucket: Bucket" in foreign.text
    assert Dashboard.objects.get(pk=dashboard.pk).widgets == dashboard.widgets
    saved = client.post(url, {**form, "widgets": '[{"type": "status", "source": {"device": "d1"}}]'})
    assert saved.status_code == 302
    assert Dashboard.objects.get(pk=dashboard.pk).widgets[0]["layout"] == {"x": 0, "y": 0, "w": 3, "h": 2}
    owner = Client()
    owner.force_login(alice)
    assert owner.get("/dashboards/home/").status_code == 200

def test_a_page_with_an_older_layout_is_told_to_reload(web, dashboard):
    page = web.get("/dashboards/home/")
    version = page.context["layout_version"]
    assert f"m={version}" in page.text
    assert web.get(f"/dashboards/home/refresh/?v=x&m={version}", **HX).status_code == 200
    web.post("/dashboards/home/widgets/chart/move/", {"move": "down"}, **hx("grid"))
    stale = web.get(f"/dashboards/home/refresh/?v=x&m={version}", **HX)
    assert stale.status_code == 204 and stale["HX-Refresh"] == "true"


def test_a_value_can_come_from_a_device_property(web, dashboard, device):
    device.properties.create(name="battery", value={"level": 87})
    form = web.get("/dashboards/home/widgets/+new/?type=gauge&device=d1", **hx("widget-form"))
    assert '<option value="battery">' in form.text and "leave it empty" in form.text
    response = web.post("/dashboards/home/widgets/+new/", {"type": "gauge", "title": "Battery", "device": "d1",
                                                            "property": "battery", "field": "level", "unit": "%"})
    assert response.status_code == 302
    added = Dashboard.objects.get(pk=dashboard.pk).widgets[-1]
    assert added["source"] == {"device": "d1", "property": "battery", "field": "level"}
    assert "87 %" in web.get("/dashboards/home/").text


def test_renaming_a_chart_in_the_form_keeps_its_aggregate_interval(web, dashboard, records):
    form = web.get("/dashboards/home/widgets/chart/edit/")
    assert 'name="agg"' in form.text and '<option value="5m" selected>' in form.text
    # What the browser sends back: every input as the form showed it, with a new title.
    saved = web.post("/dashboards/home/widgets/chart/edit/", {
        "type": "chart", "title": "Renamed", "bucket": "b1", "fields": ["temperature"], "range": "24h",
        "agg": "5m", "agg_type": "max", "unit": "°C", "decimals": 1, "color": "#d33"})
    assert saved.status_code == 302
    source = Dashboard.objects.get(pk=dashboard.pk).widget("chart")["source"]
    assert source["agg"] == "5m" and source["agg_type"] == "max"
    too_fine = web.post("/dashboards/home/widgets/chart/edit/", {"type": "chart", "bucket": "b1", "range": "30d",
                                                                  "agg": "5m"})
    assert too_fine.status_code == 400 and "more than 2000" in too_fine.text


def test_renaming_a_map_in_the_form_keeps_its_position_fields_and_api_options(web, dashboard, records):
    map_widget = dashboard.widget("map")
    services.widget_update(dashboard=dashboard, widget_id="map", data={
        **map_widget, "source": {"bucket": "b1", "fields": ["lat", "lon"]}, "options": {"unit": "m"}})
    form = web.get("/dashboards/home/widgets/map/edit/")
    assert "Latitude field" in form.text and '<option value="lat" selected>' in form.text
    saved = web.post("/dashboards/home/widgets/map/edit/", {"type": "map", "title": "Track", "bucket": "b1",
                                                            "range": "24h", "lat_field": "lat", "lon_field": "lon"})
    assert saved.status_code == 302
    stored = Dashboard.objects.get(pk=dashboard.pk).widget("map")
    assert stored["title"] == "Track" and stored["source"]["fields"] == ["lat", "lon"]
    assert stored["options"] == {"unit": "m"}  # no input for it in a map's form: kept
    half = web.post("/dashboards/home/widgets/map/edit/", {"type": "map", "bucket": "b1", "lat_field": "lat"})
    assert half.status_code == 400 and "has-error" in half.text


def test_a_value_or_gauge_form_offers_one_field_as_radio_buttons(web, dashboard, records):
    """A value or gauge shows one field: the form offers radio buttons (checkboxes let two be
    ticked, then refused); a chart keeps its checkboxes."""
    for kind in ("value", "gauge"):
        form = web.get(f"/dashboards/home/widgets/+new/?type={kind}&bucket=b1", **hx("widget-form")).text
        assert 'type="radio" name="fields" value="temperature"' in form and 'type="checkbox" name="fields"' not in form
    chart = web.get("/dashboards/home/widgets/+new/?type=chart&bucket=b1", **hx("widget-form")).text
    assert 'type="checkbox" name="fields" value="temperature"' in chart
    edit = web.get("/dashboards/home/widgets/value/edit/", **hx("widget-form")).text
    assert 'type="radio" name="fields" value="temperature"' in edit and "checked" in edit


def test_two_fields_on_a_value_widget_say_give_one(api, alice, dashboard):
    response = api(alice).patch("/v1/users/alice/dashboards/home", {"widgets": [
        {"type": "value", "source": {"bucket": "b1", "fields": ["a", "b"]}}]}, format="json")
    assert response.status_code == 400
    assert 'Give one field, in a list: ["temperature"].' in response.json()["error"]["message"]


def test_a_table_says_its_times_are_utc_and_gives_the_full_date_on_hover(web, dashboard, records):
    from datetime import UTC, datetime

    page = web.get("/dashboards/home/").text
    newest = datetime.fromtimestamp(records[0].ts / 1000, tz=UTC)
    assert "<th>Time (UTC)</th>" in page
    assert f'title="{newest:%Y-%m-%d %H:%M:%S}.{newest.microsecond // 1000:03d} UTC">{newest:%m-%d %H:%M:%S}</td>' in page


def test_one_submit_shows_every_mistake_beside_its_input(web, dashboard):
    """A gauge with no bucket, decimals 9, min 100 > max 0 and colour `red`: every mistake at once
    (it took three rounds, and `red` was never flagged)."""
    response = web.post("/dashboards/home/widgets/+new/", {"type": "gauge", "decimals": "9", "min": "100",
                                                            "max": "0", "color": "red"})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"bucket", "decimals", "max", "color"}
    assert errors["bucket"] == ["Choose a bucket (and one of its fields), or a device and one of its properties."]
    assert errors["max"] == ["max must be greater than min."]
    assert errors["color"] == ['Give a colour as #rgb or #rrggbb, e.g. "#d33".']
    assert "#rgb or #rrggbb, e.g. #d33 or #2563eb" in response.text  # the colour's help says it before


NO_PROPERTY = "Give the property's name: pick one of the device's or type it."


@pytest.mark.parametrize("data, field, says", [
    ({"type": "chart"}, "bucket", "Choose a bucket."),
    ({"type": "status"}, "device", "Choose a device."),
    ({"type": "property", "device": "d1"}, "property", NO_PROPERTY),
    ({"type": "value", "device": "d1"}, "property", NO_PROPERTY),
])
def test_an_input_left_empty_is_named_as_a_choice(web, dashboard, data, field, says):
    """The API's "Give a bucket id: 1 to 64 letters..." does not fit a picker left empty."""
    errors = web.post("/dashboards/home/widgets/+new/", data).context["form"].errors
    assert errors[field] == [says]


def test_a_mistake_that_follows_from_another_is_not_repeated(web, dashboard):
    # min unreadable: max is not compared with the gauge's default min 0.
    errors = web.post("/dashboards/home/widgets/+new/", {"type": "gauge", "bucket": "b1", "fields": "temperature",
                                                          "min": "low", "max": "-5"}).context["form"].errors
    assert set(errors) == {"min"}
    # No bucket chosen: its fields are not offered yet, so they are not also said to be missing.
    errors = web.post("/dashboards/home/widgets/+new/", {"type": "value"}).context["form"].errors
    assert set(errors) == {"bucket"}


def test_empty_pickers_say_where_to_create_a_bucket_or_device(outsider, charlie):
    services.dashboard_create(owner=charlie, dashboard_id="first")
    form = outsider.get("/dashboards/first/widgets/+new/?type=gauge").text
    assert 'You have no bucket yet: <a href="/buckets/+new/">create one</a>' in form
    assert 'You have no device yet: <a href="/devices/+new/">create one</a>' in form


def test_pickers_with_choices_have_no_create_hint(web, dashboard):
    assert "You have no" not in web.get("/dashboards/home/widgets/+new/?type=gauge").text


def test_the_chart_legend_says_what_its_number_is_and_table_headers_show_whole_names(web, dashboard, records):
    page = web.get("/dashboards/home/").text
    assert "Beside each field: the mean of the latest 5-minute interval, so far." in page  # agg 5m
    assert '<th title="temperature">temperature</th>' in page
    services.widget_update(dashboard=dashboard, widget_id="chart", data={
        **dashboard.widget("chart"), "source": {"bucket": "b1", "fields": ["temperature"], "range": "1h"}})
    assert "Beside each field: its latest value." in web.get("/dashboards/home/").text  # 1 h: raw records


def test_the_layout_controls_are_named_and_explained(web, dashboard):
    page = web.get("/dashboards/home/?edit=1").text
    assert 'aria-label="Make Temperature narrower" title="Narrower">⇤</button>' in page
    assert "⇤ narrower · ⇥ wider · ⤒ shorter · ⤓ taller" in page  # a phone shows no title
    assert "Layout controls" not in web.get("/dashboards/home/").text
