"""Secret header values (Authorization, tokens, keys) are masked on the endpoint and application
pages; the owner can reveal them, and replace one without ever displaying it."""
import pytest

from endpoints.models import Connection, Endpoint
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db
SECRET = "Bearer s3cret-value-42"


@pytest.fixture
def app(alice):
    return Connection.objects.create(owner=alice, name="App", destination_url="https://example.com/up",
                                     headers={"Authorization": SECRET, "X-Thing": "{DevEUI}"})


@pytest.fixture
def hook(alice):
    return Endpoint.objects.create(owner=alice, endpoint_id="e1", url="https://example.com/hook",
                                   headers={"X-Api-Key": "k3y-value-42", "X-Plain": "visible"})


def test_application_page_masks_secret_values_until_revealed(web, app):
    page = web.get(f"/applications/{app.pk}/")
    assert SECRET not in page.text and "X-Thing: {DevEUI}" in page.text and "••••••••" in page.text
    assert "Reveal secret values" in page.text
    revealed = web.get(f"/applications/{app.pk}/?reveal=headers")
    assert SECRET in revealed.text and "Hide secret values" in revealed.text
    part = web.get(f"/applications/{app.pk}/?reveal=headers", **hx("setting-headers"))
    assert SECRET in part.text and "<html" not in part.text


def test_application_header_editor_keeps_a_masked_value_and_replaces_a_typed_one(web, app):
    editor = web.get(f"/applications/{app.pk}/?edit=headers")
    assert SECRET not in editor.text and "leave one as it is to keep it" in editor.text
    url = f"/applications/{app.pk}/settings/headers/"
    web.post(url, {"headers_key": ["Authorization", "X-Thing"], "headers_value": ["••••••••", "{DevEUI}"]})
    app.refresh_from_db()
    assert app.headers == {"Authorization": SECRET, "X-Thing": "{DevEUI}"}
    web.post(url, {"headers_key": ["Authorization"], "headers_value": ["Bearer new"]})
    app.refresh_from_db()
    assert app.headers == {"Authorization": "Bearer new"}


def test_endpoint_page_masks_secret_values_until_revealed(web, hook):
    page = web.get("/endpoints/e1/")
    assert "k3y-value-42" not in page.text and "X-Plain: visible" in page.text
    assert "k3y-value-42" in web.get("/endpoints/e1/?reveal=headers").text


def test_endpoint_edit_form_keeps_a_masked_value(web, hook):
    form = web.get("/endpoints/e1/edit/")
    assert "k3y-value-42" not in form.text
    web.post("/endpoints/e1/edit/", {"url": hook.url, "method": "POST", "timeout": 10, "enabled": "on",
                                     "headers_key": ["X-Api-Key", "X-Plain"], "headers_value": ["••••••••", "v2"]})
    hook.refresh_from_db()
    assert hook.headers == {"X-Api-Key": "k3y-value-42", "X-Plain": "v2"}


def test_charlie_cannot_reveal(outsider, app, hook):
    assert outsider.get(f"/applications/{app.pk}/?reveal=headers").status_code == 404
    assert outsider.get("/endpoints/e1/?reveal=headers").status_code == 404
