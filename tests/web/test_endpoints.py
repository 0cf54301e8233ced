import re
from unittest import mock

import pytest
from django.utils import timezone

from devices.models import Device
from endpoints.models import Connection, Endpoint
from endpoints.transport import HttpAnswer, TransportError
from tests.endpoints.conftest import receiver  # noqa: F401  (a real local HTTP server)
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def test_endpoint_list_empty_state(web):
    assert "No endpoints yet" in web.get("/endpoints/").text


def test_create_endpoint_with_header_rows(web, alice):
    response = web.post("/endpoints/+new/", {
        "endpoint_id": "hook", "url": "https://example.com/{{device}}", "method": "POST", "timeout": 10,
        "enabled": "on", "headers_key": ["X-Key", "", ""], "headers_value": ["abc", "", ""], "body": ""})
    assert response.status_code == 302, response.content
    endpoint = Endpoint.objects.get(owner=alice, endpoint_id="hook")
    assert endpoint.headers == {"X-Key": "abc"} and endpoint.body is None


def test_endpoint_form_errors_next_to_fields(web):
    response = web.post("/endpoints/+new/", {"endpoint_id": "hook", "url": "ftp://x", "method": "POST",
                                            "timeout": 10, "headers_key": [""], "headers_value": ["v"]})
    assert response.status_code == 400
    assert "Start the URL with http" in response.text and "needs a name" in response.text


def test_edit_endpoint(web, endpoint):
    page = web.get("/endpoints/e1/edit/")
    assert 'value="X-A"' in page.text
    web.post("/endpoints/e1/edit/", {"url": "https://example.com/x", "method": "PUT", "timeout": 5,
                                     "headers_key": ["X-B"], "headers_value": ["2"]})
    endpoint.refresh_from_db()
    assert (endpoint.method, endpoint.headers, endpoint.enabled) == ("PUT", {"X-B": "2"}, False)


def test_send_test_shows_the_answer(web, endpoint):
    with mock.patch("endpoints.delivery.http_send", return_value=HttpAnswer(status=201, body='{"ok":1}', ms=12)):
        response = web.post("/endpoints/e1/test/", {"payload": '{"t": 1}'}, **hx("test"))
    assert "<html" not in response.text and "HTTP 201" in response.text and "{&quot;ok&quot;:1}" in response.text
    with mock.patch("endpoints.delivery.http_send", side_effect=TransportError("connection refused")):
        response = web.post("/endpoints/e1/test/", {"payload": '{"t": 1}'}, **hx("test"))
    assert "connection refused" in response.text
    log = web.get("/endpoints/e1/", **hx("calls"))
    assert "HTTP 201" in log.text and "no answer" in log.text


def test_delete_endpoint(web, endpoint):
    web.post("/endpoints/e1/delete/")
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()


def _header_rows(html):
    """(name, marked as wrong) of each header row shown (the Add-header <template> left out)."""
    rows = re.sub(r"<template>.*?</template>", "", html, flags=re.DOTALL)
    return [(name, "has-error" in classes) for classes, name in
            re.findall(r'<div class="kv-row([^"]*)"[^>]*><input name="headers_key" value="([^"]*)"', rows)]


def _header_errors(html):
    """The lines of the headers field's error list."""
    found = re.search(r'<ul class="errorlist"[^>]*id="id_headers_error"[^>]*>(.*?)</ul>', html, re.DOTALL)
    assert found, html
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.DOTALL)


def test_an_application_saved_before_a_rule_can_still_be_deactivated_or_says_why_not(web, alice):
    connection = Connection.objects.create(owner=alice, name="Old", destination_url="https://example.com/in",
                                           headers={f"X-H{n}": "v" for n in range(60)})
    response = web.post(f"/applications/{connection.pk}/active/", follow=True)
    connection.refresh_from_db()
    assert response.status_code == 200 and connection.active is False  # 60 headers, saved before the limit
    Connection.objects.filter(pk=connection.pk).update(headers={"Content-Length": "5"})
    response = web.post(f"/applications/{connection.pk}/active/", follow=True)
    connection.refresh_from_db()
    assert response.status_code == 200 and connection.active is False  # was: a 500
    assert "Application Old is unchanged: Header Content-Length: the platform sets this header itself" in response.text


def test_too_many_header_rows_are_refused_in_one_line(web, alice):
    response = web.post("/applications/new/http/", {
        "name": "Cloud", "destination_url": "https://example.com/in",
        "headers_key": [f"X-H{n}" for n in range(51)] + [""], "headers_value": ["v"] * 51 + [""]})
    assert response.status_code == 400
    assert _header_errors(response.text) == ["Give at most 50 headers (51 given)."]
    assert not Connection.objects.filter(owner=alice).exists()


def test_every_bad_header_is_reported_at_once_and_only_its_row_is_marked(web, alice):
    # Two bad headers between good ones: both said in one submit, each naming its header, and
    # only their rows outlined (was: the first only, and every row red).
    response = web.post("/applications/new/http/", {
        "name": "Cloud", "destination_url": "https://example.com/in",
        "headers_key": ["X-Good", "Bad Header:", "X-Ok", "Content-Length", ""],
        "headers_value": ["1", "v1", "2", "5", ""]})
    assert response.status_code == 400
    errors = _header_errors(response.text)
    assert len(errors) == 2, errors
    assert "&#x27;Bad Header:&#x27; is not a valid header name" in errors[0]
    assert "Header Content-Length: the platform sets this header itself" in errors[1]
    assert _header_rows(response.text) == [("X-Good", False), ("Bad Header:", True), ("X-Ok", False),
                                           ("Content-Length", True)]
    assert not Connection.objects.filter(owner=alice).exists()

    # The endpoint form alike, with a value without a name and a bad value.
    response = web.post("/endpoints/+new/", {
        "endpoint_id": "hook", "url": "https://example.com/in", "method": "POST", "timeout": 10,
        "headers_key": ["", "X-Fine", "X-Break"], "headers_value": ["orphan", "ok", "a\x01b"]})
    assert response.status_code == 400
    errors = _header_errors(response.text)
    assert len(errors) == 2, errors
    assert "needs a name" in errors[0] and "orphan" in errors[0]
    assert "Header X-Break: the value contains a control character" in errors[1]
    assert _header_rows(response.text) == [("", True), ("X-Fine", False), ("X-Break", True)]
    assert not Endpoint.objects.filter(owner=alice).exists()


def test_per_field_header_edit_reports_every_bad_header(web, application):
    response = web.post(f"/applications/{application.pk}/settings/headers/",
                        {"headers_key": ["X A", "X-Fine", "keep-alive"], "headers_value": ["1", "2", "3"]},
                        **hx("setting-headers"))
    assert response.status_code == 200
    assert "&#x27;X A&#x27; is not a valid header name" in response.text
    assert "Header keep-alive: the platform sets this header itself" in response.text
    assert _header_rows(response.text) == [("X A", True), ("X-Fine", False), ("keep-alive", True)]
    application.refresh_from_db()
    assert application.headers == {"X-Thing": "{DevEUI}"}


def test_application_flow_create(web, alice):
    assert "No applications yet" in web.get("/applications/").text
    assert 'href="/applications/new/http/"' in web.get("/applications/new/").text
    form = web.get("/applications/new/http/")
    assert "Application Name" in form.text and "Destination URL" in form.text and 'class="req"' in form.text
    response = web.post("/applications/new/http/", {
        "name": "Cloud", "destination_url": "https://example.com/in", "headers_key": ["X-Thing"],
        "headers_value": ["{DevEUI}"], "description": "d"}, follow=True)
    connection = Connection.objects.get(owner=alice)
    assert response.redirect_chain[-1][0] == f"/applications/{connection.pk}/"
    assert "Application Cloud created." in response.text
    assert connection.headers == {"X-Thing": "{DevEUI}"} and connection.state == "OPENED"
    assert "/iot-flow/downlinkMessages/" in response.text


def test_application_required_fields(web):
    response = web.post("/applications/new/http/", {"name": "", "destination_url": "ftp://x"})
    assert response.status_code == 400
    assert "This field is required" in response.text and "must start with http" in response.text


def test_application_per_field_edit(web, application):
    edit = web.get(f"/applications/{application.pk}/?edit=destination_url", **hx("setting-destination_url"))
    assert "<html" not in edit.text and 'aria-label="Confirm Destination URL"' in edit.text
    assert "hx-confirm=" in edit.text
    # The form's question is about saving: its Cancel (inside the form, where htmx hands the
    # attribute down) asked "Save the new ...?" too.
    cancel = re.search(r'<a [^>]*aria-label="Cancel"[^>]*>', edit.text).group()
    assert 'hx-confirm="unset"' in cancel
    saved = web.post(f"/applications/{application.pk}/settings/destination_url/",
                     {"destination_url": "https://new.example.com/in"}, **hx("setting-destination_url"))
    application.refresh_from_db()
    assert application.destination_url == "https://new.example.com/in"
    assert application.headers == {"X-Thing": "{DevEUI}"}  # the rest of the configuration is kept
    assert "Application My app updated." in saved.text and 'hx-swap-oob="true"' in saved.text
    bad = web.post(f"/applications/{application.pk}/settings/destination_url/", {"destination_url": "nope"},
                   **hx("setting-destination_url"))
    assert bad.status_code == 200 and "must start with http" in bad.text
    web.post(f"/applications/{application.pk}/settings/headers/", {"headers_key": ["A"], "headers_value": ["b"]})
    application.refresh_from_db()
    assert application.headers == {"A": "b"}


def test_application_full_page_edit_without_js(web, application):
    page = web.get(f"/applications/{application.pk}/?edit=name")
    assert 'name="name"' in page.text
    response = web.post(f"/applications/{application.pk}/settings/name/", {"name": "Renamed"})
    assert response.status_code == 302


def test_application_health_devices_and_deliveries(web, application, device):
    device.applications.add(application)
    Connection.objects.filter(pk=application.pk).update(state="UNREACHABLE")
    page = web.get(f"/applications/{application.pk}/")
    assert 'class="dot UNREACHABLE"' in page.text and "d1" in page.text
    assert "activity" in web.get(f"/applications/{application.pk}/", **hx("activity")).text


def test_deactivate_and_delete_application(web, application):
    web.post(f"/applications/{application.pk}/active/")
    application.refresh_from_db()
    assert application.state == "DEACTIVATED"
    web.post(f"/applications/{application.pk}/delete/")
    assert not Connection.objects.filter(pk=application.pk).exists()


@pytest.mark.parametrize("method,path", [
    ("get", "/endpoints/e1/"), ("get", "/endpoints/e1/edit/"), ("post", "/endpoints/e1/test/"),
    ("post", "/endpoints/e1/delete/"), ("post", "/endpoints/e1/retry/"),
])
def test_charlie_gets_404_on_endpoints(outsider, endpoint, method, path):
    assert getattr(outsider, method)(path).status_code == 404


@pytest.mark.parametrize("method,suffix", [
    ("get", ""), ("get", "?edit=name"), ("post", "settings/name/"), ("post", "active/"), ("post", "delete/"),
])
def test_charlie_gets_404_on_applications(outsider, application, method, suffix):
    assert getattr(outsider, method)(f"/applications/{application.pk}/{suffix}").status_code == 404


# --- Retry a failed delivery -------------------------------------------------------------------

def _failed(owner, **target):
    from endpoints.models import Attempt, Delivery

    delivery = Delivery.objects.create(owner=owner, message_id=7, device_id="d1", payload={"t": 1}, ts=1,
                                       state=Delivery.FAILED, attempts=8, next_attempt_at=None, **target)
    for _ in range(2):
        Attempt.objects.create(delivery=delivery, url="http://127.0.0.1:9/", status_code=500, error="HTTP 500")
    return delivery


def test_retry_failed_endpoint_delivery_with_htmx(web, endpoint):
    delivery = _failed(endpoint.owner, endpoint=endpoint)
    url = f"/endpoints/e1/deliveries/{delivery.pk}/retry/"
    page = web.get("/endpoints/e1/")
    # One button per failed delivery, even with several attempts logged.
    assert page.text.count(f'hx-post="{url}"') == 1 and 'hx-target="#calls"' in page.text
    response = web.post(url, **hx("calls"))
    assert response.status_code == 200
    assert "<html" not in response.text and 'id="calls"' in response.text
    assert 'hx-swap-oob="true"' in response.text and "Delivery queued again" in response.text
    assert url not in response.text  # no longer failed, so no button
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 0) and delivery.next_attempt_at is not None


def test_retry_without_js_redirects_and_a_second_retry_only_warns(web, endpoint):
    delivery = _failed(endpoint.owner, endpoint=endpoint)
    url = f"/endpoints/e1/deliveries/{delivery.pk}/retry/"
    response = web.post(url)
    assert response.status_code == 302 and response["Location"] == "/endpoints/e1/"
    page = web.post(url, follow=True)
    assert page.status_code == 200 and "this one is pending" in page.text
    delivery.refresh_from_db()
    assert delivery.state == "pending"


def test_retry_failed_application_delivery_with_htmx(web, application):
    delivery = _failed(application.owner, connection=application)
    url = f"/applications/{application.pk}/deliveries/{delivery.pk}/retry/"
    page = web.get(f"/applications/{application.pk}/")
    assert page.text.count(f'hx-post="{url}"') == 1 and 'hx-target="#activity"' in page.text
    response = web.post(url, **hx("activity"))
    assert response.status_code == 200 and "<html" not in response.text and 'id="activity"' in response.text
    assert "Delivery queued again" in response.text
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert web.post(url).status_code == 302


def test_retry_needs_post(web, endpoint):
    delivery = _failed(endpoint.owner, endpoint=endpoint)
    assert web.get(f"/endpoints/e1/deliveries/{delivery.pk}/retry/").status_code == 405


def test_retry_of_another_targets_delivery_is_404(web, alice, endpoint, application):
    other = Endpoint.objects.create(owner=alice, endpoint_id="e2", url="http://127.0.0.1:9/")
    delivery = _failed(alice, endpoint=other)
    app_delivery = _failed(alice, connection=application)
    assert web.post(f"/endpoints/e1/deliveries/{delivery.pk}/retry/").status_code == 404
    assert web.post(f"/endpoints/e1/deliveries/{app_delivery.pk}/retry/").status_code == 404
    assert web.post(f"/applications/{application.pk}/deliveries/{delivery.pk}/retry/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.state == "failed"


def test_charlie_gets_404_on_retry(outsider, endpoint, application):
    endpoint_delivery = _failed(endpoint.owner, endpoint=endpoint)
    app_delivery = _failed(application.owner, connection=application)
    assert outsider.post(f"/endpoints/e1/deliveries/{endpoint_delivery.pk}/retry/", **hx("calls")).status_code == 404
    assert outsider.post(f"/applications/{application.pk}/deliveries/{app_delivery.pk}/retry/",
                         **hx("activity")).status_code == 404
    endpoint_delivery.refresh_from_db()
    app_delivery.refresh_from_db()
    assert endpoint_delivery.state == app_delivery.state == "failed"


def test_endpoint_with_id_new_has_a_working_page(web, alice):
    # "new" is a valid id (docs/api.md); the create page lives at /endpoints/+new/, a path no id can take.
    assert web.get("/endpoints/+new/").status_code == 200
    response = web.post("/endpoints/+new/", {"endpoint_id": "new", "name": "Named new", "url": "https://example.com/",
                                             "method": "POST", "timeout": 10, "enabled": "on"})
    assert response.status_code == 302 and response["Location"] == "/endpoints/new/"
    page = web.get("/endpoints/new/")
    assert page.status_code == 200 and "Named new" in page.text and "https://example.com/" in page.text
    assert web.get("/endpoints/new/edit/").status_code == 200


def test_charlie_gets_404_on_alices_object_named_new(outsider, alice):
    Endpoint.objects.create(owner=alice, endpoint_id="new", url="https://example.com/")
    assert outsider.get("/endpoints/new/").status_code == 404


# --- Health, polled parts, Retry now -----------------------------------------------------------

def _waiting(owner, **target):
    """A pending delivery waiting for its retry, a minute from now."""
    from datetime import timedelta

    from endpoints.models import Delivery

    return Delivery.objects.create(owner=owner, message_id=8, device_id="d1", payload={"t": 1}, ts=1, attempts=1,
                                   next_attempt_at=timezone.now() + timedelta(minutes=1), **target)


def test_endpoint_page_shows_health_polled_on_its_own(web, endpoint):
    _failed(endpoint.owner, endpoint=endpoint)
    _waiting(endpoint.owner, endpoint=endpoint)
    page = web.get("/endpoints/e1/")
    assert 'id="health"' in page.text and 'hx-trigger="every 3s"' in page.text
    assert "Next retry" in page.text and 'hx-post="/endpoints/e1/retry/"' in page.text
    with mock.patch("endpoints.views.selectors.attempts_for_target") as calls:
        part = web.get("/endpoints/e1/", **hx("health"))
    assert not calls.called  # a poll of the health part does not build the call log
    assert "<html" not in part.text and 'id="health"' in part.text
    assert '<td id="stat-failed">1</td>' in part.text and '<td id="stat-pending">1' in part.text


def test_endpoint_retry_now_makes_waiting_deliveries_due(web, endpoint):
    delivery = _waiting(endpoint.owner, endpoint=endpoint)
    response = web.post("/endpoints/e1/retry/", **hx("health"))
    assert response.status_code == 200 and "<html" not in response.text and 'id="health"' in response.text
    assert "Retrying 1 delivery to e1 now." in response.text and "Next retry" not in response.text
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    response = web.post("/endpoints/e1/retry/")
    assert response.status_code == 302 and response["Location"] == "/endpoints/e1/"
    assert web.get("/endpoints/e1/retry/").status_code == 405


def test_application_health_poll_carries_the_title_dot_and_nothing_else(web, application):
    page = web.get(f"/applications/{application.pk}/")
    assert page.text.count('id="title-dot"') == 1 and 'hx-swap-oob' not in page.text.split('id="health"')[0]
    Connection.objects.filter(pk=application.pk).update(state="UNREACHABLE")
    with mock.patch("endpoints.views.selectors.attempts_for_target") as attempts:
        part = web.get(f"/applications/{application.pk}/", **hx("health"))
    assert not attempts.called
    assert "<html" not in part.text and 'id="title-dot" class="dot UNREACHABLE"' in part.text
    assert 'hx-swap-oob="true"' in part.text
    with mock.patch("endpoints.views.deliveries_statistics") as statistics:
        part = web.get(f"/applications/{application.pk}/", **hx("activity"))
    assert not statistics.called and 'id="activity"' in part.text and "title-dot" not in part.text


def test_an_open_application_whose_last_message_failed_for_good_does_not_say_all_is_well(web, application):
    """A refused address or a 4xx fails a message for good and leaves the connection OPENED
    (ThingPark's state of the link): the health card must not read "Messages are being delivered"."""
    url = f"/applications/{application.pk}/"
    assert "Messages are being delivered." in web.get(url, **hx("health")).text
    delivery = _failed(application.owner, connection=application)
    delivery.attempt_log.update(status_code=None, error="refused: 192.168.1.5 is a private address")
    part = web.get(url, **hx("health")).text
    assert "Messages are being delivered." not in part
    assert "the last delivery failed for good (refused: 192.168.1.5 is a private address)" in part
    assert 'class="dot OPENED failing"' in part


def test_an_applications_blame_period_and_raw_format_are_set_in_the_ui_as_in_the_api(web, alice, application):
    """configuration.blamePeriod and sendRawDecodedFormat could be set only through the API."""
    web.post("/applications/new/http/", {"name": "Raw", "destination_url": "https://example.com/raw",
                                         "blame_period": "120", "send_raw_decoded_format": "on"})
    raw = Connection.objects.get(owner=alice, name="Raw")
    assert (raw.blame_period, raw.send_raw_decoded_format) == (120, True)
    web.post("/applications/new/http/", {"name": "Plain", "destination_url": "https://example.com/plain"})
    plain = Connection.objects.get(owner=alice, name="Plain")
    assert (plain.blame_period, plain.send_raw_decoded_format) == (30, False)  # the API's defaults
    page = web.get(f"/applications/{application.pk}/").text
    assert "Blame period (seconds)" in page and "no: in the DevEUI_uplink envelope" in page
    web.post(f"/applications/{application.pk}/settings/blame_period/", {"blame_period": "5"},
             **hx("setting-blame_period"))
    web.post(f"/applications/{application.pk}/settings/send_raw_decoded_format/", {"send_raw_decoded_format": "on"},
             **hx("setting-send_raw_decoded_format"))
    application.refresh_from_db()
    assert (application.blame_period, application.send_raw_decoded_format) == (5, True)
    assert application.destination_url == "https://example.com/uplink"  # the rest is kept
    bad = web.post(f"/applications/{application.pk}/settings/blame_period/", {"blame_period": "-1"},
                   **hx("setting-blame_period"))
    assert "Give a whole number of seconds from 0 to 604800, or leave it empty for 30." in bad.text
    bad = web.post("/endpoints/+new/", {"endpoint_id": "e7", "url": "https://x.example/in", "method": "POST",
                                        "timeout": "0"})
    assert "Give a whole number of seconds from 1 to 60." in bad.text


def test_send_test_as_if_from_a_device_fills_its_placeholders(web, alice, device, receiver):
    """Without a device, {{device}} and {{device_name}} were empty in a test, so a template could not
    be checked; the call log marks the test as one either way."""
    Device.objects.filter(pk=device.pk).update(name="Kitchen")
    Endpoint.objects.create(owner=alice, endpoint_id="tpl", url=f"{receiver.url}/in/{{{{device}}}}",
                            headers={"X-Name": "{{device_name}}"}, body='{"from": "{{device}}", "t": {{t}}}')
    form = web.get("/endpoints/tpl/").text
    assert "As if from device" in form and '<option value="" selected>(none)</option>' in form
    web.post("/endpoints/tpl/test/", {"payload": '{"t": 1}', "device": device.pk}, **hx("test"))
    sent = receiver.requests[-1]
    assert sent.path == "/in/d1" and sent.headers["X-Name"] == "Kitchen" and sent.json() == {"from": "d1", "t": 1}
    web.post("/endpoints/tpl/test/", {"payload": '{"t": 2}'}, **hx("test"))
    assert receiver.requests[-1].path == "/in/" and receiver.requests[-1].json() == {"from": "", "t": 2}
    log = web.get("/endpoints/tpl/", **hx("calls")).text
    assert log.count(">test</span>") == 2
    theirs = web.post("/endpoints/tpl/test/", {"payload": '{"t": 3}', "device": 999999}, **hx("test"))
    assert "Select a valid choice" in theirs.text and len(receiver.requests) == 2
