"""What Django's admin passes to the database unchecked (platform/admin.py AdminGuard): a NUL in the
query string is a 400 saying so, an action on ids that are not the model's is the changelist again
with a warning and nothing changed. Each was a 500."""
import pytest
from django.contrib import admin

from devices.models import Device

MODELS = sorted(f"{model._meta.app_label}/{model._meta.model_name}" for model in admin.site._registry)


@pytest.mark.parametrize("query", ["state__exact=%00", "severity=%00", "q=a%00b", "%00=1"])
def test_a_nul_in_a_changelist_query_is_a_400(root, query):
    for model in ("endpoints/delivery", "alarms/alarm", "devices/device"):
        response = root.get(f"/admin/{model}/?{query}")
        assert response.status_code == 400 and "NUL character" in response.content.decode()


def test_a_nul_in_the_autocomplete_term_is_a_400(root):
    response = root.get("/admin/autocomplete/", {"term": "a\x00", "app_label": "devices", "model_name": "device",
                                                 "field_name": "owner"})
    assert response.status_code == 400 and "NUL character" in response.content.decode()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("selected", ["abc", "1\x00", "00000000-0000-0000-0000-00000000000g"])
def test_an_action_on_ids_not_of_the_model_changes_nothing(root, device, model, selected):
    response = root.post(f"/admin/{model}/", {"action": "delete_selected", "_selected_action": [selected]},
                         follow=True)
    page = response.content.decode()
    assert response.status_code == 200 and "is not the id of one of the" in page and "No items have been changed" in page
    assert Device.objects.filter(pk=device.pk).exists()


def test_an_action_on_real_ids_still_runs(root, device):
    response = root.post("/admin/devices/device/", {"action": "delete_selected", "_selected_action": [device.pk],
                                                    "post": "yes"}, follow=True)
    assert response.status_code == 200 and not Device.objects.filter(pk=device.pk).exists()
