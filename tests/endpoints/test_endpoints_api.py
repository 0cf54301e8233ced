from endpoints.models import Attempt, Delivery, Endpoint

BASE = "/v1/users/alice/endpoints"


def _config(url, **extra):
    return {"url": url, "method": "POST", "headers": {"X-Dev": "{{device}}"}, "body": None, "timeout": 5, **extra}


def test_create_list_get_update_delete(alice, api, receiver):
    client = api(alice)
    created = client.post(BASE, {"endpoint": "e1", "name": "Hook", "config": _config(f"{receiver.url}/in")},
                          format="json")
    assert created.status_code == 201, created.content
    assert created.json()["config"]["headers"] == {"X-Dev": "{{device}}"}
    assert created.json()["type"] == "http_request" and created.json()["enabled"] is True
    assert [e["endpoint"] for e in client.get(BASE).json()] == ["e1"]
    patched = client.patch(f"{BASE}/e1", {"config": {"timeout": 7}, "enabled": False}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["config"]["timeout"] == 7 and patched.json()["config"]["url"] == f"{receiver.url}/in"
    assert patched.json()["enabled"] is False
    put = client.put(f"{BASE}/e1", {"name": "New", "config": {"url": "https://example.com/{{device}}"}}, format="json")
    assert put.status_code == 200, put.content
    assert put.json()["config"] == {"url": "https://example.com/{{device}}", "method": "POST", "headers": {},
                                    "body": None, "timeout": 10, "max_in_flight": None}
    assert client.delete(f"{BASE}/e1").status_code == 204
    assert not Endpoint.objects.exists()


def test_invalid_input_is_400_saying_what(alice, api):
    client = api(alice)
    cases = [
        {"endpoint": "bad id!", "config": _config("https://x.example")},
        {"endpoint": "e1", "config": _config("ftp://x.example")},
        {"endpoint": "e1", "config": _config("https://x.example", method="TRACE")},
        {"endpoint": "e1", "config": _config("https://x.example", headers={"Bad Name": "x"})},
        {"endpoint": "e1", "type": "mqtt", "config": _config("https://x.example")},
        {"endpoint": "e1"},
        ["not", "an", "object"],
    ]
    for body in cases:
        response = client.post(BASE, body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["message"]
    client.post(BASE, {"endpoint": "e1", "config": _config("https://x.example")}, format="json")
    dup = client.post(BASE, {"endpoint": "e1", "config": _config("https://x.example")}, format="json")
    assert dup.status_code == 400 and "already" in dup.json()["error"]["message"]


NAME_RULE = ("use 1 to 128 ASCII letters, digits or !#$%&'*+.^_`|~- (no spaces, colons, line breaks or "
             "accents).")


def test_too_many_headers_get_one_short_answer(alice, api, endpoint):
    # Thousands of headers, every one bad: one sentence, not one per header (was: an error as long
    # as the body); the most a receiver would ever need still goes through.
    client = api(alice)
    bad = {f"Bad {n}": "v" for n in range(5000)}
    response = client.patch(f"{BASE}/e1", {"config": {"headers": bad}}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"config.headers": ["Give at most 50 headers (5000 given)."]}
    fifty = {f"X-H{n}": "v" for n in range(50)}
    response = client.patch(f"{BASE}/e1", {"config": {"headers": fifty}}, format="json")
    assert response.status_code == 200, response.content
    assert Endpoint.objects.get(endpoint_id="e1").headers == fifty


def test_a_row_saved_before_a_rule_takes_other_changes_or_says_what_to_fix(alice, api, endpoint):
    # Rows stored before a rule: 60 headers (the limit came later) still take a change to another
    # field; a header the platform now sets itself makes that change a 400 naming it (was: a 500).
    client = api(alice)
    Endpoint.objects.filter(pk=endpoint.pk).update(headers={f"X-H{n}": "v" for n in range(60)})
    response = client.patch(f"{BASE}/e1", {"enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert Endpoint.objects.get(pk=endpoint.pk).enabled is False
    Endpoint.objects.filter(pk=endpoint.pk).update(headers={"Content-Length": "5"})
    response = client.patch(f"{BASE}/e1", {"enabled": True}, format="json")
    assert response.status_code == 400
    assert "Header Content-Length: the platform sets this header itself" in response.json()["error"]["message"]
    assert Endpoint.objects.get(pk=endpoint.pk).enabled is False


def test_every_bad_header_is_reported_in_one_answer(alice, api, endpoint):
    # Two bad headers between good ones: both in one 400, each naming its header in the words of
    # the web forms, under config.headers (was: the first only).
    headers = {"X-Good": "1", "Bad Header:": "v1", "X-Ok": "2", "Content-Length": "5"}
    expected = [f"'Bad Header:' is not a valid header name: {NAME_RULE}",
                ("Header Content-Length: the platform sets this header itself (it frames the request's body); "
                 "remove it.")]
    client = api(alice)
    for response in (client.post(BASE, {"endpoint": "e2", "config": _config("https://x.example", headers=headers)},
                                 format="json"),
                     client.patch(f"{BASE}/e1", {"config": {"headers": headers}}, format="json")):
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["fields"] == {"config.headers": expected}
        assert error["message"] == "; ".join(f"config.headers: {problem}" for problem in expected)
    # A value without a name says so, as the forms do, beside the other problem.
    response = client.post(BASE, {"endpoint": "e2", "config": _config("https://x.example", headers={
        "": "orphan", "X-Break": "a\x01b"})}, format="json")
    assert response.json()["error"]["fields"] == {"config.headers": [
        "The header with value 'orphan' needs a name.",
        "Header X-Break: the value contains a control character: remove it."]}
    assert list(Endpoint.objects.values_list("endpoint_id", flat=True)) == ["e1"]
    endpoint.refresh_from_db()
    assert endpoint.headers == {}


def test_call_sends_now_and_logs(alice, api, receiver):
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": _config(f"{receiver.url}/in/{{{{payload.t}}}}",
                                                          body='{"temp": {{t}}, "user": "{{user}}"}')},
                format="json")
    response = client.post(f"{BASE}/e1/call", {"t": 21}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == 200 and '"ok": true' in body["body"] and isinstance(body["ms"], int)
    sent = receiver.requests[0]
    assert sent.path == "/in/21" and sent.json() == {"temp": 21, "user": "alice"}
    assert sent.headers["X-Message-Id"].startswith("call-")
    calls = client.get(f"{BASE}/e1/calls").json()
    assert len(calls) == 1 and calls[0]["status"] == 200 and calls[0]["state"] == "delivered"


def test_call_to_a_dead_target_is_502_not_500(alice, api, receiver):
    client = api(alice)
    url = receiver.url
    receiver.stop()
    client.post(BASE, {"endpoint": "e1", "config": _config(url)}, format="json")
    response = client.post(f"{BASE}/e1/call", {"t": 1}, format="json")
    assert response.status_code == 502 and "did not answer" in response.json()["error"]["message"]
    assert Attempt.objects.get().error and Delivery.objects.get().state == "failed"


def test_call_to_a_private_address_is_400_with_the_guard_on(alice, api, receiver, settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": _config(receiver.url)}, format="json")
    response = client.post(f"{BASE}/e1/call", {"t": 1}, format="json")
    assert response.status_code == 400 and "private" in response.json()["error"]["message"]
    assert receiver.requests == []


def test_calls_log_is_newest_first(alice, api, receiver):
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": _config(receiver.url)}, format="json")
    receiver.answers = [200, 500]
    client.post(f"{BASE}/e1/call", {"n": 1}, format="json")
    answer = client.post(f"{BASE}/e1/call", {"n": 2}, format="json").json()
    assert answer["status"] == 500
    calls = client.get(f"{BASE}/e1/calls?items=1").json()
    assert [c["status"] for c in calls] == [500]
    assert client.get(f"{BASE}/e1/calls?items=x").status_code == 400


def test_list_parameters_answer_as_on_the_other_lists(alice, api, endpoint):
    """items and state errors name their parameter in `fields`, as bucket data, alarms and
    downlinks do (were a bare message)."""
    client = api(alice)
    for url in (f"{BASE}/e1/calls?items=0", f"{BASE}/e1/deliveries?items=1001"):
        error = client.get(url).json()["error"]
        assert error["fields"] == {"items": ["Use an integer from 1 to 1000."]}, url
    error = client.get(f"{BASE}/e1/deliveries?state=bogus").json()["error"]
    assert error["fields"] == {"state": ["Use pending, delivered or failed."]}


def test_retry_a_failed_delivery(alice, api, endpoint):
    delivery = Delivery.objects.create(owner=alice, endpoint=endpoint, message_id=7, payload={}, ts=1,
                                       state=Delivery.FAILED)
    client = api(alice)
    assert [d["id"] for d in client.get(f"{BASE}/e1/deliveries?state=failed").json()] == [delivery.pk]
    response = client.post(f"{BASE}/e1/deliveries/{delivery.pk}/retry")
    assert response.status_code == 202 and response.json()["state"] == "pending"
    again = client.post(f"{BASE}/e1/deliveries/{delivery.pk}/retry")
    assert again.status_code == 400


def test_other_users_get_404(alice, charlie, api, endpoint):
    client = api(charlie)
    for method, path in [("get", BASE), ("get", f"{BASE}/e1"), ("delete", f"{BASE}/e1"), ("post", f"{BASE}/e1/call"),
                         ("get", f"{BASE}/e1/calls"), ("put", f"{BASE}/e1"), ("get", f"{BASE}/e1/deliveries")]:
        assert getattr(client, method)(path, {}, format="json").status_code == 404, (method, path)
    assert api(charlie).get("/v1/users/charlie/endpoints/e1").status_code == 404
    assert Endpoint.objects.filter(endpoint_id="e1").exists()


def test_no_token_is_401(endpoint, client):
    assert client.get(BASE).status_code == 401


def test_get_adds_statistics(alice, api, receiver):
    client = api(alice)
    client.post(BASE, {"endpoint": "e1", "config": {"url": f"{receiver.url}/in", "max_in_flight": 2}}, format="json")
    got = client.get(f"{BASE}/e1").json()
    assert got["config"]["max_in_flight"] == 2
    assert got["statistics"] == {"delivered": 0, "failed": 0, "pending": 0, "oldestPendingSeconds": 0}
