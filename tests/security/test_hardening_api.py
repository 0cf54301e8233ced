"""Issue 15, the API's part: bodies and values that used to answer 500 (or 503) now answer a 4xx
saying what to fix, and one header rule and one URL rule hold in the forms, both APIs and the
models alike."""
import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils.datastructures import MultiValueDict

from endpoints.forms import ApplicationForm, EndpointForm
from endpoints.models import Connection, Delivery, Endpoint
from platform.parsers import JSONRenderer
from tests.security.conftest import error_message

NESTED = "[" * 2500 + "]" * 2500  # 5 KB of nested arrays


def _routes(connection):
    d, c = "/v3/users/alice/devices/d1", f"/iot-flow/v1/connections/{connection.pk}"
    return [("post", "/v1/users/alice/devices"), ("put", "/v1/users/alice/devices/d1"),
            ("patch", "/v1/users/alice/devices/d1"), ("put", f"{d}/callback"), ("post", f"{d}/properties"),
            ("put", f"{d}/properties/p1"), ("patch", f"{d}/properties/p1"), ("post", f"{d}/downlinks"),
            ("post", "/v1/users/alice/buckets"), ("put", "/v1/users/alice/buckets/b1"),
            ("patch", "/v1/users/alice/buckets/b1"), ("post", "/v1/users/alice/buckets/b1/data"),
            ("post", "/v1/users/alice/endpoints"), ("put", "/v1/users/alice/endpoints/e1"),
            ("patch", "/v1/users/alice/endpoints/e1"), ("post", "/v1/users/alice/endpoints/e1/call"),
            ("post", "/iot-flow/v1/connections"), ("put", c)]


def test_deeply_nested_json_is_400_on_every_body_route(alice, api, device, endpoint, connection):
    from devices.services import property_create

    property_create(device=device, name="p1", value=1)
    client = api(alice)
    nested_value = '{"value": ' + NESTED + ', "payload": ' + NESTED + ', "config": ' + NESTED + "}"
    for method, url in _routes(connection):
        for body in (NESTED, nested_value):
            response = getattr(client, method)(url, body, content_type="application/json")
            assert response.status_code == 400, (method, url, response.content[:200])
            assert "nested" in error_message(response).lower(), (method, url, error_message(response))


def test_json_nested_too_deep_has_one_message_however_deep(alice, api):
    # 65 levels fail json_check's walk, 2,500 the parser's recursion: one message from one place.
    client = api(alice)
    messages = {error_message(client.post("/v1/users/alice/devices", "[" * depth + "]" * depth,
                                          content_type="application/json")) for depth in (65, 2500)}
    assert messages == {"JSON nested more than 64 levels deep in the body: flatten it."}


# --- Charsets: the API reads a body as the device callback does ----------------------------------

@pytest.mark.parametrize("charset", ["latin-1", "idna", "rot13", "foo", "utf-16"])
def test_the_api_reads_json_as_utf8_whatever_charset_is_declared(alice, api, charset):
    # docs/api.md: the callback's rules (RFC 8259: JSON is UTF-8); the charset is not a codec to run.
    body = json.dumps({"device": "d7", "name": "Süd €"}, ensure_ascii=False).encode()
    response = api(alice).post("/v1/users/alice/devices", body, content_type=f"application/json; charset={charset}")
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Süd €"


def test_bytes_that_are_not_utf8_are_malformed_json_whatever_the_charset(alice, api, device):
    # b"\x80" is "€" in cp1252 and a control character in latin-1: neither is read so.
    for content_type in ("application/json; charset=latin-1", "application/json"):
        response = api(alice).put("/v1/users/alice/devices/d1", b'{"name": "\x80"}', content_type=content_type)
        assert response.status_code == 400, (content_type, response.content)
        assert error_message(response).startswith("Malformed JSON"), error_message(response)
    device.refresh_from_db()
    assert device.name != "\x80"


def test_a_body_that_is_not_json_is_415_saying_what_to_send_as_on_the_callback(alice, api, device):
    response = api(alice).put("/v1/users/alice/devices/d1", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert error_message(response) == ("Unsupported content type 'text/plain': send the body as JSON with "
                                       "'Content-Type: application/json'.")
    callback = Client().post("/v3/users/alice/devices/d1/callback/data", "{}", content_type="text/plain",
                             HTTP_AUTHORIZATION=f"Bearer {device.token}")
    assert error_message(callback) == error_message(response)


def test_a_json_body_is_any_json_media_type_as_on_the_callback(alice, api, device):
    """The callback took `application/merge-patch+json` and other `+json` types; the API answered 415."""
    for content_type in ("application/merge-patch+json", "application/vnd.example+json; charset=utf-8"):
        response = api(alice).patch("/v1/users/alice/devices/d1", b'{"name": "Kitchen"}', content_type=content_type)
        assert response.status_code == 200, (content_type, response.content)
    device.refresh_from_db()
    assert device.name == "Kitchen"


def _connection_body(name="App", description="", url="https://x.example/uplink", headers=None):
    return {"name": name, "configuration": {"destinationURL": url, "headers": headers or {},
                                            "description": description}}


BAD_TEXT = ["a\x00b", "a\ud800b"]


@pytest.mark.parametrize("bad", BAD_TEXT, ids=["nul", "surrogate"])
@pytest.mark.parametrize("where", ["name", "description", "header-name", "header-value", "url"])
def test_connections_api_refuses_nul_and_lone_surrogates(alice, api, connection, bad, where):
    body = {"name": _connection_body(name=bad), "description": _connection_body(description=bad),
            "header-name": _connection_body(headers={f"X-{bad}": "1"}),
            "header-value": _connection_body(headers={"X-A": bad}),
            "url": _connection_body(url=f"https://x.example/{bad}")}[where]
    client = api(alice)
    for method, url in (("post", "/iot-flow/v1/connections"), ("put", f"/iot-flow/v1/connections/{connection.pk}")):
        response = getattr(client, method)(url, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (where, response.content)
        assert response.json()["code"] == "com-4000" and response.json()["message"]
    assert Connection.objects.count() == 1


def test_a_lone_surrogate_in_an_error_is_escaped_not_a_500(alice, api):
    response = api(alice).post("/v1/users/alice/buckets", '{"bucket": "\\ud800"}', content_type="application/json")
    assert response.status_code == 400 and error_message(response)
    # And if one is ever echoed: the renderer escapes it instead of failing to encode it.
    rendered = JSONRenderer().render({"error": {"code": 400, "message": "bad \ud800"}})
    assert json.loads(rendered)["error"]["message"] == "bad \ud800"


# --- URLs validated when saved -------------------------------------------------------------------

BAD_URLS = ["http://[::1", "http://[::1]:99999/", "http://exa mple.com/", "https:///nohost", "http://a\x00b/",
            "http://" + "a" * 70 + ".example/"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_endpoint_url_that_can_never_be_called_is_refused_when_saved(alice, api, url):
    client = api(alice)
    created = client.post("/v1/users/alice/endpoints", {"endpoint": "e1", "config": {"url": url}}, format="json")
    assert created.status_code == 400, (url, created.content)
    assert not Endpoint.objects.exists()
    form = EndpointForm(data={"endpoint_id": "e1", "url": url, "method": "POST", "timeout": 10}, owner=alice)
    assert not form.is_valid() and "url" in form.errors
    with pytest.raises(ValidationError):
        Endpoint(owner=alice, endpoint_id="e1", url=url).full_clean()


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/", "http://a b.example/"])
def test_a_connection_url_that_can_never_be_called_is_refused_when_saved(alice, api, url):
    response = api(alice).post("/iot-flow/v1/connections", _connection_body(url=url), format="json")
    assert response.status_code == 400, response.content
    assert not ApplicationForm(data={"name": "App", "destination_url": url}).is_valid()


def test_templated_urls_are_still_accepted(alice, api):
    url = "https://{{payload.host}}.example/in/{{device}}?t={{ts}}"
    created = api(alice).post("/v1/users/alice/endpoints", {"endpoint": "e1", "config": {"url": url}},
                              format="json")
    assert created.status_code == 201, created.content


# --- One header rule ---------------------------------------------------------------------------

# {"X-A": "€"} was here while header values went out as Latin-1; they go out as UTF-8 now, and "€"
# is fine (test_header_values_outside_latin1_are_fine).
BAD_HEADERS = [{"X-é": "1"}, {"X-A\n": "1"}, {"X-A\r\n": "1"}, {"X A": "1"}, {"X-A": "a\nb"},
               {"": "1"}, {"X-A": "a\x00b"}, {"X-A": "a\x01b"}, {"X-A": "a\x7fb"}, {"Content-Length": "5"},
               {"transfer-encoding": "chunked"}]


def _apis_refuse(client, connection, headers):
    """Both APIs answer 400 to these endpoint / connection headers."""
    thinger = client.post("/v1/users/alice/endpoints",
                          {"endpoint": "e9", "config": {"url": "https://x.example", "headers": headers}}, format="json")
    assert thinger.status_code == 400, thinger.content
    thingpark = client.put(f"/iot-flow/v1/connections/{connection.pk}", _connection_body(headers=headers),
                           format="json")
    assert thingpark.status_code == 400, thingpark.content


def _models_refuse(owner, headers):
    """Both models refuse these headers in full_clean()."""
    for model in (Endpoint(owner=owner, endpoint_id="e9", url="https://x.example", headers=headers),
                  Connection(owner=owner, name="A", destination_url="https://x.example", headers=headers)):
        with pytest.raises(ValidationError) as caught:
            model.full_clean()
        assert "headers" in caught.value.message_dict


@pytest.mark.parametrize("headers", BAD_HEADERS, ids=[ascii(h) for h in BAD_HEADERS])
def test_one_header_rule_in_forms_both_apis_and_the_models(alice, api, connection, headers):
    _apis_refuse(api(alice), connection, headers)
    keys, values = list(headers), list(headers.values())
    if keys[0] != keys[0].strip():
        keys = ["X A"]  # the forms strip what is typed around a name: that one is fine there
    rows = {"headers_key": keys, "headers_value": values}

    def posted(**fields):
        return MultiValueDict({**{k: [v] for k, v in fields.items()}, **rows})

    form = EndpointForm(data=posted(endpoint_id="e9", url="https://x.example", method="POST", timeout="10"),
                        owner=alice)
    assert not form.is_valid() and "headers" in form.errors, form.errors
    application = ApplicationForm(data=posted(name="App", destination_url="https://x.example"))
    if list(headers) != [""]:  # a row without a name is its own error in the forms
        assert not application.is_valid() and "headers" in application.errors
    _models_refuse(alice, headers)


# Values the forms never see as such (they post text and strip what is typed around it).
API_ONLY_BAD_HEADERS = [{"X-A": 1}, {"X-A": None}, {"X-A": " padded"}, {"X-A": "padded\t"}]


@pytest.mark.parametrize("headers", API_ONLY_BAD_HEADERS, ids=[ascii(h) for h in API_ONLY_BAD_HEADERS])
def test_both_apis_and_the_models_refuse_the_same_header_values(alice, api, connection, headers):
    _apis_refuse(api(alice), connection, headers)
    _models_refuse(alice, headers)


def test_a_tab_inside_a_header_value_is_fine(alice, api):
    response = api(alice).post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
        "url": "https://x.example", "headers": {"X-A": "a\tb"}}}, format="json")
    assert response.status_code == 201 and response.json()["config"]["headers"] == {"X-A": "a\tb"}


def test_latin1_header_values_are_fine(alice, api):
    response = api(alice).post("/v1/users/alice/endpoints",
                               {"endpoint": "e9", "config": {"url": "https://x.example",
                                                             "headers": {"X-City": "Zürich {{payload.city}}"}}},
                               format="json")
    assert response.status_code == 201, response.content


def test_header_values_outside_latin1_are_fine(alice, api, connection):
    headers = {"X-City": "東京 €", "X-Name": "{{device_name}} Küche"}
    response = api(alice).post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
        "url": "https://x.example", "headers": headers}}, format="json")
    assert response.status_code == 201 and response.json()["config"]["headers"] == headers
    response = api(alice).put(f"/iot-flow/v1/connections/{connection.pk}", _connection_body(headers=headers),
                              format="json")
    assert response.status_code == 200, response.content


# Was 東京 refused as outside Latin-1 (values go out as UTF-8 now: tests/endpoints/test_header_bytes.py);
# a line break filled in is what no header can carry.
def test_a_rendered_header_that_cannot_be_sent_is_a_template_error(alice, api, receiver, device):
    client = api(alice)
    client.post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
        "url": f"{receiver.url}/in", "headers": {"X-City": "{{payload.city}}"}}}, format="json")
    response = client.post("/v1/users/alice/endpoints/e9/call", {"city": "Paris\r\nX-Evil: 1"}, format="json")
    assert response.status_code == 400, response.content
    assert "X-City" in error_message(response) and "line break" in error_message(response)
    assert receiver.requests == []


def test_a_delivery_whose_header_cannot_be_sent_fails_with_the_reason(alice, device, receiver):
    from devices.ingest import messages_apply
    from devices.models import Message
    from endpoints.sender import Sender

    connection = Connection.objects.create(owner=alice, name="App", destination_url=f"{receiver.url}/up",
                                           headers={"X-City": "{payload.city}"})
    device.applications.add(connection)
    message = Message.objects.create(device=device, payload={"city": "Paris\nX-Evil: 1"}, ts=1700000000123)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    Sender(budget=30, idle_exit=0.2).run()
    delivery = Delivery.objects.get()
    assert delivery.state == "failed" and "line break" in delivery.last_error
    assert receiver.requests == []


# --- Headers the platform sets itself --------------------------------------------------------------

PLATFORM_HEADERS = ["Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
                    "Proxy-Connection", "content-length", "TRANSFER-ENCODING", "te", "Expect"]


def _says_why(message, name):
    assert name in message and "platform sets this header itself" in message, message


@pytest.mark.parametrize("name", PLATFORM_HEADERS)
def test_framing_and_hop_by_hop_headers_are_refused_by_both_apis_naming_them(alice, api, endpoint, connection,
                                                                            name):
    client, headers = api(alice), {"X-A": "1", name: "5"}
    responses = [
        client.post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
            "url": "https://x.example", "headers": headers}}, format="json"),
        client.patch("/v1/users/alice/endpoints/e1", {"config": {"headers": headers}}, format="json"),
        client.post("/iot-flow/v1/connections", _connection_body(headers=headers), format="json"),
        client.put(f"/iot-flow/v1/connections/{connection.pk}", _connection_body(headers=headers), format="json")]
    for response in responses:
        assert response.status_code == 400, response.content
        _says_why(error_message(response), name)
    endpoint.refresh_from_db()
    connection.refresh_from_db()
    assert name not in endpoint.headers and name not in connection.headers
    assert not Endpoint.objects.filter(endpoint_id="e9").exists() and Connection.objects.count() == 1


@pytest.mark.parametrize("name", ["Content-Length", "keep-alive"])
def test_framing_and_hop_by_hop_headers_are_a_form_error_naming_them(alice, name):
    rows = {"headers_key": ["X-A", name], "headers_value": ["1", "5"]}
    form = EndpointForm(data=MultiValueDict({"endpoint_id": ["e9"], "url": ["https://x.example"], "method": ["POST"],
                                             "timeout": ["10"], **rows}), owner=alice)
    application = ApplicationForm(data=MultiValueDict({"name": ["App"], "destination_url": ["https://x.example"],
                                                       **rows}))
    for refused in (form, application):
        assert not refused.is_valid()
        _says_why(" ".join(refused.errors["headers"]), name)


def test_a_header_given_twice_in_another_case_is_refused_by_both_apis_and_the_forms(alice, api, connection):
    # Both would go out, and which one the receiver reads is up to it.
    headers = {"X-Token": "a", "x-token": "b"}
    client = api(alice)
    for response in (client.post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
                         "url": "https://x.example", "headers": headers}}, format="json"),
                     client.put(f"/iot-flow/v1/connections/{connection.pk}", _connection_body(headers=headers),
                                format="json")):
        assert response.status_code == 400, response.content
        assert "Header x-token: given twice (X-Token is the same name; case does not count): keep one." in (
            error_message(response))
    # Two rows of one name in a form were merged silently, the last one kept.
    rows = {"headers_key": ["X-Token", "X-Token"], "headers_value": ["a", "b"]}
    form = EndpointForm(data=MultiValueDict({"endpoint_id": ["e9"], "url": ["https://x.example"], "method": ["POST"],
                                             "timeout": ["10"], **rows}), owner=alice)
    assert not form.is_valid() and form.errors["headers"] == ["Header X-Token: given twice: keep one."]


def test_host_stays_allowed_for_name_based_virtual_hosts(alice, api, connection):
    response = api(alice).post("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {
        "url": "https://x.example", "headers": {"Host": "vhost.example"}}}, format="json")
    assert response.status_code == 201, response.content
    response = api(alice).put(f"/iot-flow/v1/connections/{connection.pk}",
                              _connection_body(headers={"Host": "vhost.example"}), format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("kind", ["endpoint", "application"])
def test_a_framing_header_saved_before_the_rule_fails_the_delivery_for_good(alice, device, receiver, kind):
    """Rows saved before the rule: the sender refuses them as it refuses a header with a line
    break, a permanent failure saying why; nothing reaches the receiver."""
    from devices.ingest import messages_apply
    from devices.models import Message
    from endpoints.sender import Sender

    headers = {"Content-Length": "5"}
    if kind == "endpoint":
        target = Endpoint.objects.create(owner=alice, endpoint_id="e9", url=f"{receiver.url}/in", headers=headers)
        device.call_endpoint = target
        device.save()
    else:
        target = Connection.objects.create(owner=alice, name="App", destination_url=f"{receiver.url}/up",
                                           headers=headers)
        device.applications.add(target)
    message = Message.objects.create(device=device, payload={"a": "twenty-five bytes"}, ts=1700000000123)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    Sender(budget=30, idle_exit=0.2).run()
    delivery = Delivery.objects.get()
    assert delivery.state == "failed" and delivery.attempts == 1, (delivery.state, delivery.last_error)
    _says_why(delivery.last_error, "Content-Length")
    assert receiver.requests == []


# --- NUL in the user or device part of the device-facing URLs -----------------------------------

@pytest.mark.parametrize("path", ["/v3/users/al%00ice/devices/d1/callback/data",
                                  "/v3/users/alice/devices/d%001/callback",
                                  "/v3/users/alice/devices/d%001/callback/data"])
def test_a_nul_in_the_callback_url_is_the_unknown_device_401(device, path):
    response = Client().post(f"{path}?authorization={device.token}", {"t": 1}, content_type="application/json")
    assert response.status_code == 401, response.content
    assert "Retry-After" not in response
    unknown = Client().post(f"/v3/users/alice/devices/nope/callback/data?authorization={device.token}", {"t": 1},
                            content_type="application/json")
    assert response.json() == unknown.json()


def test_a_nul_in_the_downlink_url_is_the_unknown_url_404(connection):
    body = {"DevEUI_downlink": {"DevEUI": "d1", "payload": {"a": 1}}}
    response = Client().post(f"/iot-flow/downlinkMessages/{connection.downlink_secret[:5]}%00x", body,
                             content_type="application/json")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "com-4004" and "Retry-After" not in response


def test_a_nul_in_an_api_path_is_404(alice, api, device):
    for url in ("/v1/users/alice/devices/d%001", "/v3/users/alice/devices/d%001/properties",
                "/v1/users/alice/buckets/b%001", "/v1/users/alice/endpoints/e%001"):
        response = api(alice).get(url)
        assert response.status_code == 404, (url, response.content)


DESCRIBED = [  # (collection URL, a body that creates one, the item's URL)
    ("/v1/users/alice/devices", {"device": "d9"}, "/v1/users/alice/devices/d9"),
    ("/v1/users/alice/buckets", {"bucket": "b9"}, "/v1/users/alice/buckets/b9"),
    ("/v1/users/alice/endpoints", {"endpoint": "e9", "config": {"url": "https://x.example/in"}},
     "/v1/users/alice/endpoints/e9"),
    ("/v1/users/alice/alarms/rules", {"rule": "r9", "source": {"type": "status"}}, "/v1/users/alice/alarms/rules/r9"),
    ("/v1/users/alice/dashboards", {"dashboard": "ds9"}, "/v1/users/alice/dashboards/ds9"),
]


@pytest.mark.parametrize(("collection", "body", "item"), DESCRIBED, ids=lambda v: v if isinstance(v, str) else None)
def test_a_description_is_at_most_2000_characters(alice, api, collection, body, item):
    """A 900 KB description was accepted and shown on every list that has it."""
    client = api(alice)
    response = client.post(collection, {**body, "description": "x" * 2001}, format="json")
    assert response.status_code == 400 and "description" in error_message(response), response.content
    assert client.post(collection, {**body, "description": "x" * 2000}, format="json").status_code == 201
    assert client.patch(item, {"description": "y" * 2001}, format="json").status_code == 400


def test_an_application_description_is_at_most_2000_characters(alice, api):
    body = _connection_body(description="x" * 2001)
    response = api(alice).post("/iot-flow/v1/connections", body, format="json")
    assert response.status_code == 400 and "description" in error_message(response), response.content
