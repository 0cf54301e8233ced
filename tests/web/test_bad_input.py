"""What a careless or hostile person types into the web forms and URLs: a form error or a 404
that says what to fix, never a 500."""
from unittest import mock

import pytest

from buckets.models import Bucket
from devices.models import DeviceProperty, Downlink

pytestmark = pytest.mark.django_db

BAD_JSON = {
    "NaN": "NaN",
    "Infinity": '{"t": Infinity}',
    "1e400": '{"t": 1e400}',
    "5000 digits": '{"t": ' + "9" * 5000 + "}",
    "5000 nested": "[" * 5000,
    "5000 nested closed": "[" * 5000 + "]" * 5000,
    "NUL": '{"t": "a\\u0000b"}',
    "surrogate": '{"t": "\\ud800"}',
}


@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_property_value_that_cannot_be_stored_is_a_form_error(web, device, body):
    response = web.post("/devices/d1/properties/", {"name": "p", "value": body})
    assert response.status_code == 400
    assert "has-error" in response.text
    assert not DeviceProperty.objects.filter(device=device).exists()


@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_downlink_payload_that_cannot_be_stored_is_a_form_error(web, device, body):
    response = web.post("/devices/d1/downlinks/", {"payload": body})
    assert response.status_code == 400
    assert "has-error" in response.text
    assert not Downlink.objects.filter(device=device).exists()


@pytest.mark.parametrize("body", ["null", ""])
def test_a_null_or_empty_downlink_says_what_to_give(web, device, body):
    """"This field is required." answered a payload typed as null."""
    response = web.post("/devices/d1/downlinks/", {"payload": body})
    assert response.status_code == 400 and "any JSON but null" in response.text
    assert not Downlink.objects.filter(device=device).exists()


@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_send_test_body_that_cannot_be_sent_is_a_form_error(web, endpoint, body):
    with mock.patch("endpoints.delivery.http_send") as send:
        response = web.post("/endpoints/e1/test/", {"payload": body})
    assert response.status_code == 400
    assert "has-error" in response.text
    send.assert_not_called()


def test_bucket_retention_too_large_is_a_form_error(web, alice):
    response = web.post("/buckets/+new/", {"bucket_id": "big", "enabled": "on", "retention_period": 10**20,
                                          "retention_unit": "days"})
    assert response.status_code == 400 and "has-error" in response.text
    assert not Bucket.objects.filter(bucket_id="big").exists()


def test_bucket_retention_too_large_on_edit_is_a_form_error(web, bucket):
    response = web.post("/buckets/b1/edit/", {"name": "x", "enabled": "on", "retention_period": 10**20,
                                             "retention_unit": "days"})
    assert response.status_code == 400 and "has-error" in response.text


@pytest.mark.parametrize("path", [
    "/devices/a%00b/", "/devices/a%00b/settings/", "/devices/d1/properties/a%00b/delete/",
    "/buckets/a%00b/", "/buckets/a%00b/edit/", "/endpoints/a%00b/", "/endpoints/a%00b/edit/",
    "/endpoints/a%00b/test/",
    "/dashboards/%00/", "/dashboards/a%00b/edit/", "/dashboards/a%00b/refresh/", "/dashboards/a%00b/widgets/+new/",
    "/dashboards/a%00b/widgets/w%001/edit/", "/alarms/rules/a%00b/edit/", "/alarms/rules/a%00b/delete/",
])
@pytest.mark.parametrize("method", ["get", "post"])
def test_nul_in_an_id_is_404(web, device, bucket, endpoint, method, path):
    assert getattr(web, method)(path).status_code == 404
