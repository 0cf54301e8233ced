import uuid

from endpoints.models import Connection, Delivery

BASE = "/iot-flow/v1/connections"


def _body(url="https://receiver.example/uplink", **config):
    return {"connectorId": "actility-http-iot", "name": "Test HTTP Connection", "active": True,
            "configuration": {"destinationURL": url, "headers": {"X-Thing": "{DevEUI}"}, **config}}


def test_create_answers_thingpark_shape(alice, api):
    response = api(alice).post(BASE, _body(description="d"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    connection = Connection.objects.get()
    assert body["id"] == str(connection.pk)
    assert body["state"] == "OPENED" and body["active"] is True and body["connectorId"] == "actility-http-iot"
    assert body["configuration"] == {"destinationURL": "https://receiver.example/uplink",
                                     "headers": {"X-Thing": "{DevEUI}"}, "blamePeriod": 30, "description": "d",
                                     "sendRawDecodedFormat": False, "maxInFlight": None}
    assert body["startupTime"].startswith(str(connection.startup_time.year)) and "T" in body["startupTime"]
    assert body["downlinkUrl"] == f"https://iot.example.com/iot-flow/downlinkMessages/{connection.downlink_secret}"


def test_put_replaces_the_whole_configuration(alice, api):
    client = api(alice)
    created = client.post(BASE, _body(blamePeriod=60, sendRawDecodedFormat=True), format="json").json()
    response = client.put(f"{BASE}/{created['id']}", {"name": "Renamed", "active": False,
                                                      "configuration": {"destinationURL": "http://other.example/"}},
                          format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Renamed" and body["state"] == "DEACTIVATED"
    assert body["configuration"] == {"destinationURL": "http://other.example/", "headers": {}, "blamePeriod": 30,
                                     "description": "", "sendRawDecodedFormat": False, "maxInFlight": None}
    reactivated = client.put(f"{BASE}/{created['id']}", _body(), format="json").json()
    assert reactivated["state"] == "OPENED"


def test_inactive_on_create_is_deactivated(alice, api):
    body = {**_body(), "active": False}
    assert api(alice).post(BASE, body, format="json").json()["state"] == "DEACTIVATED"


def test_bad_input_is_com_4000(alice, api):
    client = api(alice)
    cases = [_body(url="ftp://x.example"), _body(url="receiver.example"), _body(url="http://"),
             _body(blamePeriod="30"), _body(blamePeriod=-1), _body(headers={"X": 1}), {"name": "x"},
             {**_body(), "connectorId": "mqtt"}, {**_body(), "name": ""}, ["x"]]
    for body in cases:
        response = client.post(BASE, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["code"] == "com-4000" and response.json()["message"], body
    broken = client.post(BASE, "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "com-4000"


def test_too_many_headers_get_one_short_message(alice, api):
    response = api(alice).post(BASE, _body(headers={f"X-H{n}": "v" for n in range(51)}), format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "com-4000", "message": "configuration.headers: Give at most 50 headers (51 given)."}
    assert not Connection.objects.exists()


def test_every_bad_header_is_reported_in_one_message(alice, api, connection):
    # Two bad headers between good ones: both in the one com-4000 message, each naming its header
    # in the words of the web forms (was: the first only).
    headers = {"X-Good": "1", "Bad Header:": "v1", "X-Ok": "2", "Content-Length": "5"}
    client = api(alice)
    for response in (client.post(BASE, _body(headers=headers), format="json"),
                     client.put(f"{BASE}/{connection.pk}", _body(headers=headers), format="json")):
        assert response.status_code == 400, response.content
        assert response.json() == {"code": "com-4000", "message": (
            "configuration.headers: 'Bad Header:' is not a valid header name: use 1 to 128 ASCII letters, "
            "digits or !#$%&'*+.^_`|~- (no spaces, colons, line breaks or accents). "
            "Header Content-Length: the platform sets this header itself (it frames the request's body); "
            "remove it.")}
    response = client.post(BASE, _body(headers={"": "orphan", "X-Break": "a\x01b"}), format="json")
    assert response.json()["message"] == (
        "configuration.headers: The header with value 'orphan' needs a name. "
        "Header X-Break: the value contains a control character: remove it.")
    assert list(Connection.objects.all()) == [connection]
    connection.refresh_from_db()
    assert connection.headers == {"X-Thing": "{DevEUI}"}


def test_null_takes_the_default_and_a_wrong_type_is_refused(alice, api):
    """{} or 0 for a description, [] for headers, were stored as empty: a 400 now, as for blamePeriod;
    null stays "not given"."""
    client = api(alice)
    for config in ({"description": {}}, {"description": 0}, {"description": False}, {"headers": []},
                   {"headers": 0}):
        response = client.post(BASE, _body(**config), format="json")
        assert response.status_code == 400 and response.json()["code"] == "com-4000", config
    created = client.post(BASE, _body(description=None, headers=None, blamePeriod=None), format="json")
    assert created.status_code == 201, created.content
    config = created.json()["configuration"]
    assert (config["description"], config["headers"], config["blamePeriod"]) == ("", {}, 30)


def test_unauthenticated_is_com_4001(client, alice):
    response = client.get(BASE)
    assert response.status_code == 401 and response.json()["code"] == "com-4001"
    assert "Bearer" in response.json()["message"]
    wrong = client.get(BASE, HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong.json()["code"] == "com-4001"


def test_session_works_too(client, alice):
    client.force_login(alice)
    assert client.get(BASE).status_code == 200


def test_other_users_get_com_4004(alice, charlie, api):
    created = api(alice).post(BASE, _body(), format="json").json()
    client = api(charlie)
    for method in ("get", "put", "delete"):
        response = getattr(client, method)(f"{BASE}/{created['id']}", _body(), format="json")
        assert response.status_code == 404 and response.json() == {"code": "com-4004",
                                                                  "message": "No such connection."}
    assert client.get(f"{BASE}/{created['id']}/deliveries").status_code == 404
    assert client.get(BASE).json() == []
    assert api(alice).get(f"{BASE}/{uuid.uuid4()}").status_code == 404
    assert api(alice).get(f"{BASE}/not-a-uuid").json()["code"] == "com-4004"


def test_pagination_headers(alice, api):
    client = api(alice)
    for n in range(5):
        client.post(BASE, {**_body(), "name": f"c{n}"}, format="json")
    response = client.get(f"{BASE}?page=2&perPage=2")
    assert response.status_code == 200
    assert (response["X-Total"], response["X-Total-Pages"], response["X-Page"], response["X-Per-Page"]) == \
        ("5", "3", "2", "2")
    assert len(response.json()) == 2
    defaults = client.get(BASE)
    assert (defaults["X-Page"], defaults["X-Per-Page"], len(defaults.json())) == ("1", "20", 5)
    assert client.get(f"{BASE}?perPage=1000")["X-Per-Page"] == "100"
    bad = client.get(f"{BASE}?page=0")
    assert bad.status_code == 400 and bad.json()["code"] == "com-4000"
    # ASCII digits only: Python's int() would also read "1_0" and "\u0665" (an Arabic-Indic 5).
    for value in ("1_0", "\u0665", " 2", "2.0"):
        odd = client.get(BASE, {"page": value})
        assert odd.status_code == 400 and "must be a whole number" in odd.json()["message"], value


def test_delete(alice, api):
    client = api(alice)
    created = client.post(BASE, _body(), format="json").json()
    assert client.delete(f"{BASE}/{created['id']}").status_code == 204
    assert client.get(f"{BASE}/{created['id']}").status_code == 404


def test_retry_failed_delivery(alice, api, connection):
    delivery = Delivery.objects.create(owner=alice, connection=connection, message_id=1, payload={}, ts=1,
                                       state=Delivery.FAILED)
    client = api(alice)
    listed = client.get(f"{BASE}/{connection.pk}/deliveries?state=failed")
    assert [d["id"] for d in listed.json()] == [delivery.pk] and listed["X-Total"] == "1"
    assert client.post(f"{BASE}/{connection.pk}/deliveries/{delivery.pk}/retry").status_code == 202
    again = client.post(f"{BASE}/{connection.pk}/deliveries/{delivery.pk}/retry")
    assert again.status_code == 400 and again.json()["code"] == "com-4000"


def test_get_adds_statistics_and_max_in_flight_is_settable(alice, api):
    client = api(alice)
    created = client.post(BASE, _body(maxInFlight=4), format="json")
    assert created.status_code == 201 and created.json()["configuration"]["maxInFlight"] == 4
    got = client.get(f"{BASE}/{created.json()['id']}").json()
    assert got["statistics"] == {"delivered": 0, "failed": 0, "pending": 0, "oldestPendingSeconds": 0}
    bad = client.post(BASE, _body(maxInFlight=0), format="json")
    assert bad.status_code == 400 and "maxInFlight" in bad.json()["message"]
