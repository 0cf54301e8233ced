"""Login brute force (platform/login.py): failed sign-ins are throttled per account and per
address, on the login page and the admin, with a message that says what to do."""
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_ADDRESS = 3, 6
    cache.clear()
    yield
    cache.clear()


def _login(client, username, password, path="/login/", address="10.0.0.1"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(client):
    return "_auth_user_id" in client.session


def test_wrong_passwords_then_the_right_one_is_refused(client, alice):
    for _ in range(3):
        assert _login(client, "alice", "wrong").status_code == 200
    response = _login(client, "alice", "alice-password-1")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text and "15 minutes" in response.text
    assert not _signed_in(client)


def test_the_account_is_throttled_from_every_address(client, alice):
    for n in range(3):
        _login(client, "alice", "wrong", address=f"10.0.1.{n}")
    assert _login(Client(), "alice", "alice-password-1", address="10.0.2.1").status_code == 429


def test_one_address_trying_many_accounts_is_throttled(client, alice, bob):
    for n in range(6):
        _login(client, f"user{n}", "wrong")
    assert _login(client, "bob", "bob-password-1").status_code == 429
    other = Client()
    assert _login(other, "bob", "bob-password-1", address="10.9.9.9").status_code == 302  # others still sign in


def test_a_success_clears_the_accounts_count(client, alice):
    for _ in range(2):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "alice-password-1").status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, "alice", "wrong")
    assert _login(client, "alice", "alice-password-1").status_code == 302


def test_the_admin_sign_in_is_throttled_too(client):
    get_user_model().objects.create_superuser("root", "root@example.com", "root-password-1")
    for _ in range(3):
        _login(client, "root", "wrong", path="/admin/login/")
    response = _login(client, "root", "root-password-1", path="/admin/login/")
    assert "Too many failed sign-ins" in response.text
    assert not _signed_in(client)


def test_case_and_spaces_do_not_dodge_the_account_count(client, alice):
    for name in ("alice", "ALICE", " Alice "):
        _login(client, name, "wrong", address="10.0.3.1")
    assert _login(client, "alice", "alice-password-1", address="10.0.3.2").status_code == 429
