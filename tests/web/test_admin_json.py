"""The admin's JSON fields (platform/admin.py CheckedJSON): what the API refuses is a form error
here too, shown again as typed, never a 500."""
import pytest

from devices.models import DeviceProperty, Downlink


@pytest.mark.parametrize("typed, message", [
    ("NaN", "is not JSON"), ('{"a": NaN}', "is not JSON"), ("1e999", "Number out of range"),
    ('{"a": "\\u0000"}', "NUL character"), ('"\\ud800"', "Unpaired UTF-16 surrogate"),
    ("[" * 5000 + "]" * 5000, "nested more than 64 levels deep"), ("1" * 5000, "Number out of range"),
    ("{", "Not valid JSON"),
])
def test_a_payload_the_api_refuses_is_a_form_error(root, device, typed, message):
    # Each was a 500: Django's form field parses with json.loads, then the database, the recursion
    # limit or the page's encoding failed.
    response = root.post("/admin/devices/downlink/add/", {"device": device.pk, "payload": typed, "source": "web"})
    page = response.content.decode()
    assert response.status_code == 200 and "errorlist" in page and message in page, page[-3000:]
    assert not Downlink.objects.exists()


def test_a_good_payload_is_stored_and_a_property_shows_in_its_inline(root, device):
    response = root.post("/admin/devices/downlink/add/", {"device": device.pk, "payload": '{"led": "on"}',
                                                           "source": "web"})
    assert response.status_code == 302 and Downlink.objects.get().payload == {"led": "on"}
    DeviceProperty.objects.create(device=device, name="config", value={"a": 1})
    page = root.get(f"/admin/devices/device/{device.pk}/change/").content.decode()
    assert 'name="properties-0-value"' in page and "{&quot;a&quot;: 1}" in page
