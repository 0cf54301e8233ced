"""docs/dashboards.md: dashboards CRUD, widget validation against the owner's objects, sharing."""
import importlib

import pytest

from dashboards.models import Dashboard
from tests.dashboards.conftest import WIDGETS

pytestmark = pytest.mark.django_db
URL = "/v1/users/alice/dashboards"


def test_create_get_list_update_delete(api, alice, bucket, device):
    client = api(alice)
    created = client.post(URL, {"dashboard": "home", "name": "Home", "widgets": WIDGETS}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["dashboard"] == "home" and body["shared"] is False and len(body["widgets"]) == 8
    chart = body["widgets"][0]
    assert chart == {**WIDGETS[0], "source": {**WIDGETS[0]["source"]}}
    value = body["widgets"][1]
    assert value["source"] == {"bucket": "b1", "fields": ["temperature"]}
    assert body["widgets"][2]["source"] == {"bucket": "b1", "fields": ["humidity"]}  # given as "field": answered in
    # the contract's shape
    assert value["layout"] == {"x": 6, "y": 0, "w": 3, "h": 2}  # the first free place, beside the chart
    assert body["widgets"][3]["layout"] == {"x": 6, "y": 2, "w": 3, "h": 2}  # status: under the value
    assert [d["dashboard"] for d in client.get(URL).json()] == ["home"]
    assert client.get(f"{URL}/home").json()["name"] == "Home"
    patched = client.patch(f"{URL}/home", {"name": "House"}, format="json").json()
    assert patched["name"] == "House" and len(patched["widgets"]) == 8
    put = client.put(f"{URL}/home", {"widgets": [{"type": "status", "source": {"device": "d1"}}]}, format="json")
    assert put.status_code == 200 and put.json()["widgets"][0]["id"] == "w1"
    assert client.delete(f"{URL}/home").status_code == 204
    assert client.get(f"{URL}/home").status_code == 404


def test_missing_ids_are_given_and_duplicates_refused(api, alice, bucket):
    client = api(alice)
    widgets = [{"type": "table", "source": {"bucket": "b1"}}, {"id": "w1", "type": "table", "source": {"bucket": "b1"}}]
    body = client.post(URL, {"dashboard": "d", "widgets": widgets}, format="json").json()
    assert [w["id"] for w in body["widgets"]] == ["w2", "w1"]
    twice = [{"id": "a", "type": "table", "source": {"bucket": "b1"}}] * 2
    response = client.post(URL, {"dashboard": "e", "widgets": twice}, format="json")
    assert response.status_code == 400 and "appears twice" in response.json()["error"]["message"]


@pytest.mark.parametrize("widget,where,says", [
    ({"type": "clock"}, "widgets.0.type", "not a widget type"),
    ({"type": "chart", "source": {"bucket": "nope"}}, "widgets.0.source.bucket", "not found"),
    ({"type": "chart", "source": {"bucket": "b1", "range": "2y"}}, "widgets.0.source.range", "use one of"),
    ({"type": "chart", "source": {"bucket": "b1", "range": "365d", "agg": "5m"}}, "widgets.0.source.agg", "points"),
    ({"type": "value", "source": {"bucket": "b1"}}, "widgets.0.source.fields", "one field"),
    ({"type": "status", "source": {"device": "ghost"}}, "widgets.0.source.device", "not found"),
    ({"type": "property", "source": {"device": "d1"}}, "widgets.0.source.property", "property id"),
    ({"type": "downlink", "source": {"device": "d1"}}, "widgets.0.options.payload", "payload"),
    ({"type": "gauge", "source": {"bucket": "b1", "field": "t"}, "options": {"min": 5, "max": 1}},
     "widgets.0.options.max", "greater than min"),
    ({"type": "table", "source": {"bucket": "b1"}, "layout": {"x": 10, "w": 6}}, "widgets.0.layout.x", "0 to 6"),
    ({"type": "table", "source": {"bucket": "b1"}, "options": {"colour": "red"}}, "widgets.0.options", "Unknown key"),
    ({"type": "table", "source": {"bucket": "b1"}, "options": {"color": "red"}}, "widgets.0.options.color", "#rgb"),
    ("chart", "widgets.0", "object"),
    ({"type": "value", "source": {"bucket": "b1", "fields": ["t"], "range": "2d"}}, "widgets.0.source.range",
     "use one of"),
    ({"type": "map", "source": {"bucket": "b1", "agg_type": "median"}}, "widgets.0.source.agg_type", "use one of"),
    ({"type": "status", "source": {"device": "d1", "property": "a b"}}, "widgets.0.source.property", "property id"),
    ({"type": "map", "source": {"bucket": "b1", "feilds": ["t"]}}, "widgets.0.source", "Unknown key feilds"),
    ({"type": "table", "source": {"bucket": "b1", "device": "d1"}}, "widgets.0.source", "Unknown key device"),
])
def test_bad_widgets_are_400_saying_what_to_fix(api, alice, bucket, device, widget, where, says):
    response = api(alice).post(URL, {"dashboard": "x", "widgets": [widget]}, format="json")
    assert response.status_code == 400, response.content
    message = response.json()["error"]["message"]
    assert message.startswith(where) and says in message, message
    assert not Dashboard.objects.exists()


CONTRACT_BUCKET_SOURCE = {"bucket": "b1", "fields": ["temperature"], "range": "24h", "agg": "5m", "agg_type": "mean"}


@pytest.mark.parametrize("kind, stored", [
    ("chart", CONTRACT_BUCKET_SOURCE),
    ("value", {"bucket": "b1", "fields": ["temperature"]}),
    ("gauge", {"bucket": "b1", "fields": ["temperature"]}),
    ("table", {"bucket": "b1", "fields": ["temperature"], "items": 10}),
])
def test_the_contracts_bucket_source_is_taken_by_every_bucket_widget(api, alice, bucket, kind, stored):
    # Was a 400 ("Unknown key agg, agg_type") for all but the chart: the contract gives one bucket
    # source shape for any widget. What a type does not use is checked, then dropped.
    response = api(alice).post(URL, {"dashboard": "x", "widgets": [{"type": kind, "source": CONTRACT_BUCKET_SOURCE}]},
                               format="json")
    assert response.status_code == 201, response.content
    assert response.json()["widgets"][0]["source"] == stored


def test_the_contracts_device_source_is_taken_by_every_device_widget(api, alice, device):
    source = {"device": "d1", "property": "config", "field": "interval"}
    for kind in ("status", "downlink", "property", "value"):
        widget = {"type": kind, "source": source, "options": {"payload": 1} if kind == "downlink" else {}}
        response = api(alice).post(URL, {"dashboard": kind, "widgets": [widget]}, format="json")
        assert response.status_code == 201, response.content


def test_a_map_takes_the_contracts_shape_with_lat_lon_fields(api, alice, bucket):
    source = {**CONTRACT_BUCKET_SOURCE, "fields": ["lat", "lon"], "range": "7d"}
    response = api(alice).post(URL, {"dashboard": "m", "widgets": [{"type": "map", "source": source}]}, format="json")
    assert response.json()["widgets"][0]["source"] == {"bucket": "b1", "fields": ["lat", "lon"], "range": "7d"}


@pytest.mark.parametrize("body, field", [({"dashboard": 5}, "dashboard"), ({"dashboard": "x", "name": 7}, "name"),
                                         ({"dashboard": "x", "description": False}, "description")])
def test_the_dashboards_own_fields_take_only_strings(api, alice, body, field):
    response = api(alice).post(URL, body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["fields"]


def test_a_widget_error_is_one_flat_field_with_a_list_of_messages(api, alice, bucket):
    response = api(alice).post(URL, {"dashboard": "x", "widgets": [{"type": "clock"}]}, format="json")
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["widgets.0.type"] and isinstance(fields["widgets.0.type"], list)


def test_another_users_bucket_or_device_is_not_found(api, alice, bob, bucket, device):
    for widget in ({"type": "chart", "source": {"bucket": "b1"}}, {"type": "status", "source": {"device": "d1"}}):
        response = api(bob).post("/v1/users/bob/dashboards", {"dashboard": "x", "widgets": [widget]}, format="json")
        assert response.status_code == 400 and "not found" in response.json()["error"]["message"]


def test_duplicate_id_and_renaming_are_400(api, alice, dashboard):
    client = api(alice)
    assert client.post(URL, {"dashboard": "home"}, format="json").status_code == 400
    response = client.put(f"{URL}/home", {"dashboard": "other"}, format="json")
    assert response.status_code == 400 and "cannot be changed" in response.json()["error"]["message"]
    assert client.put(f"{URL}/home", {"widgets": "no"}, format="json").status_code == 400


def test_charlie_gets_404_everywhere(api, charlie, dashboard):
    client = api(charlie)
    for method, path in (("get", URL), ("post", URL), ("get", f"{URL}/home"), ("put", f"{URL}/home"),
                         ("patch", f"{URL}/home"), ("delete", f"{URL}/home"), ("post", f"{URL}/home/share"),
                         ("delete", f"{URL}/home/share")):
        assert getattr(client, method)(path, {}, format="json").status_code == 404, (method, path)
    assert api(charlie).get("/v1/users/charlie/dashboards/home").status_code == 404
    assert Dashboard.objects.filter(pk=dashboard.pk, share_hash__isnull=True).exists()


def test_share_and_revoke(api, alice, client, dashboard):
    owner = api(alice)
    url = owner.post(f"{URL}/home/share").json()["url"]
    assert url.startswith("http") and "/shared/" in url
    secret = url.rstrip("/").rsplit("/", 1)[1]
    assert len(secret) >= 40 and secret not in Dashboard.objects.get(pk=dashboard.pk).share_hash
    assert owner.get(f"{URL}/home").json()["shared"] is True
    path = url[url.index("/shared/"):]
    assert client.get(path).status_code == 200
    # A new link replaces the old one.
    newer = owner.post(f"{URL}/home/share").json()["url"]
    assert client.get(path).status_code == 404
    assert owner.delete(f"{URL}/home/share").status_code == 204
    assert client.get(newer[newer.index("/shared/"):]).status_code == 404
    assert owner.get(f"{URL}/home").json()["shared"] is False


def test_stored_value_and_gauge_widgets_are_respelled_with_fields():
    migration = importlib.import_module("dashboards.migrations.0002_value_gauge_fields")
    widgets = [{"type": "gauge", "source": {"bucket": "b1", "field": "t"}},
               {"type": "value", "source": {"device": "d1", "property": "p", "field": "f"}}]
    assert migration._respell(widgets, forward=True)
    assert widgets == [{"type": "gauge", "source": {"bucket": "b1", "fields": ["t"]}},
                       {"type": "value", "source": {"device": "d1", "property": "p", "field": "f"}}]
    assert migration._respell(widgets, forward=False) and widgets[0]["source"] == {"bucket": "b1", "field": "t"}


def test_a_widget_with_several_mistakes_names_them_all_under_their_own_keys(api, alice, bucket):
    """Each mistake under its own path (a client fixed them one 400 at a time); the message
    still starts with the one it used to name alone."""
    widgets = [{"type": "gauge", "source": {"bucket": "nope", "fields": ["t"]},
                "options": {"decimals": 9, "min": 100, "max": 0, "color": "red"}},
               {"type": "status", "source": {"device": "ghost"}}]
    response = api(alice).post(URL, {"dashboard": "x", "widgets": widgets}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["widgets.0.source.bucket", "widgets.0.options.decimals", "widgets.0.options.max",
                                     "widgets.0.options.color", "widgets.1.source.device"]
    assert error["fields"]["widgets.0.options.color"] == ['Give a colour as #rgb or #rrggbb, e.g. "#d33".']
    assert error["message"].startswith("widgets.0.source.bucket: Bucket 'nope' not found")
    assert not Dashboard.objects.exists()


def test_max_is_compared_with_min_only_when_both_are_numbers(api, alice, bucket):
    widget = {"type": "gauge", "source": {"bucket": "b1", "fields": ["t"]}, "options": {"min": "low", "max": -5}}
    response = api(alice).post(URL, {"dashboard": "x", "widgets": [widget]}, format="json")
    assert list(response.json()["error"]["fields"]) == ["widgets.0.options.min"]
