import pytest
from django.contrib.auth import get_user_model

from devices.models import Message
from endpoints.models import Connection, Delivery
from platform.clock import now_ms
from platform.models import AccessToken

pytestmark = pytest.mark.django_db


def test_home_counts(web, alice, device, application):
    Message.objects.create(device=device, payload={}, ts=now_ms())
    Connection.objects.filter(pk=application.pk).update(state="UNREACHABLE")
    Delivery.objects.create(owner=alice, connection=application, ts=1, state="failed")
    Delivery.objects.create(owner=alice, connection=application, ts=2, state="failed", test=True)  # a person's try
    response = web.get("/")
    assert response.context["devices_total"] == 1 and response.context["messages_last_hour"] == 1
    assert response.context["failing_deliveries"] == 1 and len(response.context["applications_not_opened"]) == 1
    assert "dashboard" in web.get("/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dashboard").text


def test_home_empty_state(web):
    assert "Create your first device" in web.get("/").text


def test_home_offers_the_admin_only_to_those_who_may_use_it(web, alice):
    """A user who is not staff was sent to the admin's "not authorized" page."""
    assert "/admin/" not in web.get("/").text
    alice.is_staff = True
    alice.save()
    assert "/admin/" in web.get("/").text


def test_access_tokens_create_once_and_revoke(web, alice):
    assert "No access tokens yet" in web.get("/tokens/").text
    response = web.post("/tokens/", {"name": "script"}, follow=True)
    plain = response.context["new_token"]["token"]
    assert plain in response.text
    assert plain not in web.get("/tokens/").text
    row = AccessToken.objects.get(user=alice)
    assert AccessToken.find(plain) == row
    web.post(f"/tokens/{row.pk}/revoke/")
    assert not AccessToken.objects.filter(pk=row.pk).exists()


def test_charlie_cannot_revoke_alices_token(outsider, alice):
    row, _ = AccessToken.issue(user=alice, name="x")
    assert outsider.post(f"/tokens/{row.pk}/revoke/").status_code == 404


def test_signup_only_when_open(client, settings):
    settings.REGISTRATION_OPEN = False
    assert client.get("/signup/").status_code == 404
    assert "Sign up" not in client.get("/login/").text
    settings.REGISTRATION_OPEN = True
    assert "Sign up" in client.get("/login/").text
    response = client.post("/signup/", {"username": "dora", "password1": "a-long-pass-99", "password2": "a-long-pass-99"})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="dora").exists()
    assert client.get("/").status_code == 200


def test_signup_errors(client, settings):
    settings.REGISTRATION_OPEN = True
    response = client.post("/signup/", {"username": "dora", "password1": "a", "password2": "b"})
    assert response.status_code == 400 and "errorlist" in response.text


def test_nav_on_every_page(web):
    text = web.get("/").text
    for label in ("Devices", "Buckets", "Endpoints", "Applications", "Access tokens"):
        assert label in text
    assert "cdn" not in text.lower() and "htmx" in text


def test_admin_index_spells_every_plural(client, django_user_model):
    """Django's default plural appends an "s": "Deliverys" until the model says otherwise."""
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1")
    client.force_login(admin)
    text = client.get("/admin/").text
    assert "Deliveries" in text and "Deliverys" not in text


def test_a_second_token_of_the_same_name_is_refused(web, alice):
    # Two "API" tokens could not be told apart when one of them was to be revoked.
    AccessToken.issue(user=alice, name="grafana")
    response = web.post("/tokens/", {"name": "Grafana"})
    assert response.status_code == 400
    assert "You already have a token named Grafana: give this one a name of its own." in response.text
    assert AccessToken.objects.filter(user=alice).count() == 1
    # Another user's token of a name is no obstacle.
    AccessToken.issue(user=get_user_model().objects.create_user("erin"), name="laptop")
    assert web.post("/tokens/", {"name": "laptop"}).status_code == 302


def test_revoking_names_the_token_by_its_key_too(web, alice):
    row, _ = AccessToken.issue(user=alice, name="laptop")
    assert f'data-confirm="Revoke the token laptop ({row.key}…)?' in web.get("/tokens/").text
    response = web.post(f"/tokens/{row.pk}/revoke/", follow=True)
    assert f"Access token laptop ({row.key}…) revoked" in response.text
