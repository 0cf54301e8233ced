"""Device page defects of issue 15, without a browser: unique element ids, bulk messages cut with
"show more", live lists for properties and downlinks; and the endpoint's call log after a test send."""
import re
from unittest import mock

import pytest

from devices.models import Message
from devices.services import downlink_queue, property_set
from endpoints.transport import HttpAnswer
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def test_every_element_id_on_the_device_page_is_unique(web, device):
    page = web.get("/devices/d1/").text
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'for="id_property_name"' in page and 'id="id_property_name"' in page


def test_a_bulk_message_is_cut_with_show_more(web, device):
    Message.objects.create(device=device, payload=[{"reading": i, "note": "z" * 50} for i in range(100)],
                           ts=1_700_000_000_000)
    page = web.get("/devices/d1/", **hx("messages")).text
    assert "show more" in page and '<details class="more">' in page
    Message.objects.all().delete()
    Message.objects.create(device=device, payload={"t": 1}, ts=1_700_000_000_000)
    assert "show more" not in web.get("/devices/d1/", **hx("messages")).text


def test_properties_and_downlinks_lists_refresh_themselves(web, device):
    page = web.get("/devices/d1/").text
    assert re.search(r'id="property-list"[^>]*hx-trigger="every 5s"', page)
    assert re.search(r'id="downlink-list"[^>]*hx-trigger="every 5s"', page)
    property_set(device_id=device.pk, name="fw", value="1.0")
    downlink = downlink_queue(device=device, payload={"led": "on"}, source="web")
    part = web.get("/devices/d1/", **hx("property-list")).text
    assert "fw" in part and "<form" not in part and "<html" not in part
    part = web.get("/devices/d1/", **hx("downlink-list")).text
    assert "1 pending" in part and "badge pending" in part
    downlink.delivered_at = downlink.created
    downlink.save()
    part = web.get("/devices/d1/", **hx("downlink-list")).text
    assert "0 pending" in part and "badge delivered" in part


def test_send_test_refreshes_the_call_log_out_of_band(web, endpoint):
    with mock.patch("endpoints.delivery.http_send", return_value=HttpAnswer(status=201, body="ok", ms=3)):
        response = web.post("/endpoints/e1/test/", {"payload": '{"t": 1}'}, **hx("test"))
    assert 'id="calls"' in response.text and 'hx-swap-oob="true"' in response.text
    assert response.text.count("HTTP 201") == 2  # the answer, and the new row of the log


def test_favicon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
