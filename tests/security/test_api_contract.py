"""Issue 17: the API does what its schema says. One regression test per case the Schemathesis run
found, each answering in the contract's error shape; charlie (the outsider) still gets 404s."""
import json

import pytest

from buckets.models import Bucket, Record
from buckets.services import records_store
from endpoints.models import Delivery


def _schema(client):
    return json.loads(client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)


# --- Aggregating records without keys (buckets/selectors/aggregate.py) -------------------------

def test_aggregate_of_an_empty_bucket_and_of_empty_records_is_empty(alice, api, bucket):
    client = api(alice)
    url = "/v1/users/alice/buckets/b1/data?agg=5m&agg_type=mean"
    assert client.get(url).json() == []
    records_store(bucket_pk=bucket.pk, rows=[(None, 0, 1_700_000_000_000, {}), (None, 1, 1_700_000_000_001, {})])
    assert Record.objects.count() == 2
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response.json() == []


# --- Bodies the schema does not allow ---------------------------------------------------------

def test_patch_bucket_with_an_empty_retention_is_400(alice, api, bucket):
    response = api(alice).patch("/v1/users/alice/buckets/b1", {"config": {"retention": {}}}, format="json")
    assert response.status_code == 400, response.content
    assert "period" in response.json()["error"]["message"]
    only_period = api(alice).patch("/v1/users/alice/buckets/b1", {"config": {"retention": {"period": 3}}},
                                   format="json")
    assert only_period.status_code == 400 and "unit" in only_period.json()["error"]["message"]


def test_put_bucket_with_an_empty_body_is_400_and_changes_nothing(alice, charlie, api, bucket):
    bucket.description = "kept"
    bucket.save()
    response = api(alice).put("/v1/users/alice/buckets/b1", content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    bucket.refresh_from_db()
    assert (bucket.name, bucket.description) == ("Bucket one", "kept")
    assert api(charlie).put("/v1/users/alice/buckets/b1", {"name": "x"}, format="json").status_code == 404


@pytest.mark.parametrize("body", [42, [None], "text", None, [{"config": {}}]])
def test_patch_endpoint_with_a_body_that_is_not_an_object_is_400(alice, api, body):
    client = api(alice)
    client.post("/v1/users/alice/endpoints", {"endpoint": "e1", "config": {"url": "https://x.example"}},
                format="json")
    response = client.patch("/v1/users/alice/endpoints/e1", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, (body, response.content)
    assert "JSON object" in response.json()["error"]["message"]


def test_write_bodies_are_json_only_and_the_schema_says_so(alice, api, client):
    response = api(alice).post("/v1/users/alice/buckets", {"bucket": "b2", "config[source]": "api"})
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] == 415
    assert not Bucket.objects.filter(bucket_id="b2").exists()
    for path, item in _schema(client)["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


# --- Query values -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/v1/users/alice/buckets/b1/data?sort=", "/v1/users/alice/buckets/b1/data?agg=",
                                 "/v1/users/alice/buckets/b1/data?agg=1h&agg_type=",
                                 "/v1/users/alice/buckets/b1/export?timestamp_format=",
                                 "/v1/users/alice/buckets/b1/export?format="])
def test_an_empty_value_for_a_choice_is_400(alice, api, bucket, url):
    response = api(alice).get(url)
    assert response.status_code == 400, response.content
    assert "is not allowed" in response.json()["error"]["message"]


def test_an_empty_delivery_state_is_400_on_both_apis(alice, api, endpoint, connection):
    client = api(alice)
    thinger = client.get("/v1/users/alice/endpoints/e1/deliveries?state=")
    assert thinger.status_code == 400 and "state" in thinger.json()["error"]["message"]
    thingpark = client.get(f"/iot-flow/v1/connections/{connection.pk}/deliveries?state=")
    assert thingpark.status_code == 400 and thingpark.json()["code"] == "com-4000"


@pytest.mark.parametrize("query", ["page=38774435652078743557505024", "page=99999999999999999999",
                                   "perPage=99999999999999999999", "page=99999999999999999999&perPage=100"])
def test_huge_pages_on_thingpark_lists_are_empty_pages(alice, charlie, api, connection, query):
    Delivery.objects.create(owner=alice, connection=connection, device_id="d1", payload={}, ts=1)
    client = api(alice)
    for url in ("/iot-flow/v1/connections", f"/iot-flow/v1/connections/{connection.pk}/deliveries"):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200, (url, response.content)
        assert response["X-Total"] == "1"
        if query.startswith("page="):
            assert response.json() == []
        else:
            assert len(response.json()) == 1 and response["X-Per-Page"] == "100"
    assert api(charlie).get(f"/iot-flow/v1/connections/{connection.pk}/deliveries?{query}").status_code == 404


@pytest.mark.parametrize("key", ["X-\ud800", "X-A\x00", "\udfff"])
def test_put_connection_with_unstorable_header_keys_is_400(alice, api, connection, key):
    body = {"name": "App", "configuration": {"destinationURL": "https://x.example/", "headers": {key: "1"}}}
    response = api(alice).put(f"/iot-flow/v1/connections/{connection.pk}", json.dumps(body),
                              content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "com-4000" and response.json()["message"]
    connection.refresh_from_db()
    assert connection.headers == {"X-Api-Key": "connection-secret-value-91bc"}


# --- The schema covers every route of the contract -----------------------------------------------

def test_schema_covers_the_callback_settings_token_and_downlink_url(client):
    paths = _schema(client)["paths"]
    base = "/v3/users/{user}/devices/{device}/callback"
    expected = {f"{base}/data": {"post": {"200", "400", "401", "403", "413", "415", "429", "503"},
                                 "get": {"200", "401", "403", "429", "503"}},
                base: {"post": {"200", "400", "401", "403", "413", "415", "429", "503"},
                       "get": {"200", "401", "404", "503"}, "put": {"200", "400", "401", "404", "503"}},
                f"{base}/token": {"post": {"200", "401", "404", "503"}},
                "/iot-flow/downlinkMessages/{secret}": {"post": {"202", "400", "403", "404", "413", "415", "503"}}}
    for path, methods in expected.items():
        for method, statuses in methods.items():
            assert statuses <= set(paths[path][method]["responses"]), (method, path)
    downlink = paths["/iot-flow/downlinkMessages/{secret}"]["post"]["responses"]["404"]
    assert downlink["content"]["application/json"]["schema"]["$ref"].endswith("/ThingParkErrorSchema")


def test_post_on_the_callback_alias_with_a_user_token_is_the_documented_405(alice, api, device, client):
    response = api(alice).post("/v3/users/alice/devices/d1/callback", {"t": 1}, format="json")
    assert response.status_code == 405, response.content
    operation = _schema(client)["paths"]["/v3/users/{user}/devices/{device}/callback"]["post"]
    assert "405" in operation["responses"]


# --- No HTML from API routes, even for errors raised before a view runs ---------------------------

@pytest.mark.parametrize("url,shape", [("/v1/users/alice/nothing-here", "thinger"),
                                       ("/v3/users/alice/devices/d1/nothing", "thinger"),
                                       ("/iot-flow/v1/nothing", "thingpark"),
                                       ("/iot-flow/downlinkMessages/a/b", "thingpark")])
def test_an_unknown_api_route_is_a_json_404(alice, api, url, shape):
    response = api(alice).get(url)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["error"]["code"] == 404) if shape == "thinger" else (body["code"] == "com-4004")


def test_an_unexpected_error_on_an_api_route_is_a_json_500(alice, api, monkeypatch):
    from buckets import selectors

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "buckets_list", broken)
    client = api(alice)
    client.raise_request_exception = False
    response = client.get("/v1/users/alice/buckets")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": 500, "message": response.json()["error"]["message"]}}


def test_a_body_over_the_upload_limit_is_a_json_413(alice, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(alice).post("/v1/users/alice/devices", {"device": "d9", "description": "x" * 2000},
                               format="json")
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == 413


def test_html_is_never_offered_by_the_api(alice, api):
    response = api(alice).get("/v1/users/alice/nope-route", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("application/json")
    response = api(alice).get("/v1/users/alice/buckets", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("url,shape", [("/v1/users/alice/buckets", "thinger"),
                                       ("/v3/users/alice/devices/d1/callback/data", "thinger"),
                                       ("/iot-flow/v1/connections", "thingpark"),
                                       ("/iot-flow/downlinkMessages/abc", "thingpark")])
def test_a_disallowed_host_on_an_api_route_is_a_json_400(client, url, shape):
    """Django refuses the Host before any view runs (DisallowedHost): still JSON, in the route's shape."""
    response = client.post(url, "{}", content_type="application/json", HTTP_HOST="evil.example")
    _assert_api_error(response, 400, shape)


def _assert_api_error(response, status, shape):
    """A JSON error in the route's shape: Thinger's {"error": {code, message}}, ThingPark's
    {"code": "com-4xxx", "message"}."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if shape == "thinger":
        assert body["error"]["code"] == status and body["error"]["message"]
    else:
        assert body["code"] == f"com-{4000 + status % 100}" and body["message"]


# --- What negative_data_rejection found where the schema is strict (tests/fuzz/schemathesis.toml) --

@pytest.mark.parametrize("enabled", [0, 1, "true", "false", "on", None])
def test_enabled_is_a_json_boolean_on_buckets_and_endpoints(alice, api, bucket, endpoint, enabled):
    client = api(alice)
    for url in ("/v1/users/alice/buckets/b1", "/v1/users/alice/endpoints/e1"):
        response = client.patch(url, {"enabled": enabled}, format="json")
        assert response.status_code == 400, (url, enabled, response.content)
        assert "enabled" in response.json()["error"]["message"]
    created = client.post("/v1/users/alice/buckets", {"bucket": "b2", "enabled": enabled}, format="json")
    assert created.status_code == 400 and not Bucket.objects.filter(bucket_id="b2").exists()
    assert client.patch("/v1/users/alice/buckets/b1", {"enabled": False}, format="json").json()["enabled"] is False


@pytest.mark.parametrize("url,body", [
    ("/v1/users/alice/buckets/b1", {"description": 0}),
    ("/v1/users/alice/buckets/b1", {"name": 5}),
    ("/v1/users/alice/buckets/b1", {"config": {"retention": {"period": "7", "unit": "days"}}}),
    ("/v1/users/alice/endpoints/e1", {"description": 0}),
    ("/v1/users/alice/endpoints/e1", {"config": {"timeout": "10"}}),
    ("/v1/users/alice/endpoints/e1", {"config": {"timeout": 10.0}}),
    ("/v1/users/alice/endpoints/e1", {"config": {"timeout": True}}),
])
def test_strings_and_integers_are_their_json_types(alice, api, bucket, endpoint, url, body):
    response = api(alice).patch(url, body, format="json")
    assert response.status_code == 400, (body, response.content)


def test_the_schema_lets_put_leave_the_id_out_and_patch_leave_the_url_out(client):
    """The URL names the object, and PATCH merges `config` into the current one: the API accepts
    both, so the schema must not require them (the check reported the valid requests)."""
    schema = _schema(client)
    components = schema["components"]["schemas"]

    def request_schema(path, method):
        ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[1]]

    assert "bucket" not in request_schema("/v1/users/{user}/buckets/{bucket}", "put").get("required", [])
    assert "endpoint" not in request_schema("/v1/users/{user}/endpoints/{endpoint}", "put").get("required", [])
    patch = request_schema("/v1/users/{user}/endpoints/{endpoint}", "patch")
    config = components[patch["properties"]["config"]["$ref"].rsplit("/", 1)[1]]
    assert "url" not in config.get("required", [])
    assert "bucket" in request_schema("/v1/users/{user}/buckets", "post")["required"]


def test_put_callback_settings_without_a_body_is_400_and_changes_nothing(alice, api, device):
    client = api(alice)
    url = "/v3/users/alice/devices/d1/callback"
    client.put(url, {"actions": {"write_bucket": "b1"}}, format="json")
    response = client.put(url)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == 400
    assert client.get(url).json()["actions"]["write_bucket"] == "b1"
    assert client.put(url, {}, format="json").json()["actions"]["write_bucket"] is None  # {} still resets


@pytest.mark.parametrize("url,shape", [("/v1/users/alice/nope-route", "thinger"),
                                       ("/v3/users/alice/devices/d1/nope", "thinger"),
                                       ("/iot-flow/v1/nope", "thingpark")])
def test_an_unknown_api_route_is_a_json_404_with_debug_on_too(alice, api, settings, url, shape):
    """`make run` runs with DEBUG on, where Django answers a 404 with its HTML debug page."""
    settings.DEBUG = True
    for method in ("get", "post", "delete"):
        _assert_api_error(getattr(api(alice), method)(url, data={"a": 1}, format="json"), 404, shape)
