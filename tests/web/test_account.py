"""The account page (e-mail address, password) and "Forgot your password?" (platform/login.py,
platform/views.py): wrong passwords on the account page count in the sign-in throttle, a password
change signs out the other sessions, a reset mails a SITE_URL link and says the same whether or
not an account has the address, reset requests are throttled, and the web process only queues
them: a worker mails the links and retries a failed send."""
import logging
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

from platform import account_mail, login
from platform.models import AccountMail
from tests.smtp import smtp  # noqa: F401  (a real local SMTP server)
from tests.stack import free_port

pytestmark = pytest.mark.django_db
SITE = "https://iot.example.com"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = SITE
    settings.ALLOWED_HOSTS = ["testserver", "proxy.internal"]
    settings.LOGIN_FAILURES_PER_ACCOUNT, settings.LOGIN_FAILURES_PER_ADDRESS = 3, 30
    settings.PASSWORD_RESETS_PER_EMAIL, settings.PASSWORD_RESETS_PER_ADDRESS = 2, 4
    cache.clear()
    yield
    cache.clear()


def _signed_in(client):
    return client.get("/account/").status_code == 200


def _sign_in(username, password, address="10.0.0.9"):
    client = Client()
    response = client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)
    return client, response


def _toasts(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# The account page.

def test_the_account_page_needs_a_sign_in(client):
    for method, path in (("get", "/account/"), ("post", "/account/email/"), ("post", "/account/password/")):
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response["Location"] == f"/login/?next={path}", path


def test_the_header_links_the_username_to_the_account_page(web):
    page = web.get("/").text
    assert '<a class="who" href="/account/"' in page and ">alice</a>" in page


def test_the_account_page_shows_only_the_signed_in_users_data(client, alice, bob):
    client.force_login(bob)
    page = client.get("/account/").text
    assert "bob@example.com" in page and "<b>bob</b>" in page
    assert "alice" not in page


def test_change_the_email_address(web, alice):
    response = web.post("/account/email/", {"email": "Alice@Example.ORG", "password": "alice-password-1"}, follow=True)
    alice.refresh_from_db()
    assert alice.email == "Alice@example.org"  # the domain part lower-cased, as Django's user manager does
    assert "E-mail address changed to Alice@example.org." in _toasts(response)
    assert 'value="Alice@example.org"' in response.text


def test_the_email_address_can_be_removed(web, alice):
    response = web.post("/account/email/", {"email": "", "password": "alice-password-1"}, follow=True)
    alice.refresh_from_db()
    assert alice.email == ""
    assert any("E-mail address removed" in t for t in _toasts(response))


def test_an_invalid_email_address_or_a_wrong_password_changes_nothing(web, alice):
    response = web.post("/account/email/", {"email": "not an address", "password": "alice-password-1"})
    assert response.status_code == 400 and "Enter a valid email address." in response.text
    response = web.post("/account/email/", {"email": "new@example.com", "password": "wrong"})
    assert response.status_code == 400 and "Your password was entered incorrectly." in response.text
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_a_post_changes_only_the_signed_in_users_address(web, alice, bob):
    web.post("/account/email/", {"email": "new@example.com", "password": "alice-password-1", "username": "bob",
                                 "id": bob.pk})
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"


def test_change_the_password(alice):
    client, _ = _sign_in("alice", "alice-password-1")
    other, _ = _sign_in("alice", "alice-password-1")  # another browser
    response = client.post("/account/password/", {"old_password": "alice-password-1",
                                                  "new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"},
                           follow=True)
    assert response.redirect_chain == [("/account/", 302)]
    assert "Password changed. Your other sessions are signed out." in _toasts(response)
    assert _signed_in(client)  # this session follows the new password
    assert not _signed_in(other)  # the other one is signed out
    assert _sign_in("alice", "a-new-long-secret")[1].status_code == 302
    assert _sign_in("alice", "alice-password-1")[1].status_code == 200  # the old one no longer works


def test_the_new_password_must_pass_the_validators_and_match(web, alice):
    for new, error in (("password", "This password is too common."), ("x7#q", "This password is too short.")):
        response = web.post("/account/password/", {"old_password": "alice-password-1",
                                                   "new_password1": new, "new_password2": new})
        assert response.status_code == 400 and error in response.text
    response = web.post("/account/password/", {"old_password": "alice-password-1",
                                               "new_password1": "a-new-long-secret", "new_password2": "another-one"})
    assert response.status_code == 400 and "The two password fields didn" in response.text
    alice.refresh_from_db()
    assert alice.check_password("alice-password-1")


def test_wrong_old_passwords_count_in_the_sign_in_throttle(web, alice):
    change = {"new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"}
    for _ in range(2):
        response = web.post("/account/password/", {"old_password": "wrong", **change})
        assert response.status_code == 400
        assert "Your old password was entered incorrectly." in response.text
    # The email form's password check counts too: the third failure reaches the limit of 3.
    assert web.post("/account/email/", {"email": "x@example.com", "password": "wrong"}).status_code == 400
    response = web.post("/account/password/", {"old_password": "alice-password-1", **change})
    assert response.status_code == 429  # the right one is refused as well, until the window ends
    assert "Too many wrong passwords for this account" in response.text and "15 minutes" in response.text
    alice.refresh_from_db()
    assert alice.check_password("alice-password-1")
    # The same count as the sign-in page's: the account is throttled there, from any address.
    assert _sign_in("alice", "alice-password-1", address="10.7.7.7")[1].status_code == 429
    assert login.login_blocked(None, "alice")


def test_the_right_old_password_clears_the_accounts_count(web, alice):
    change = {"new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"}
    for _ in range(2):
        web.post("/account/password/", {"old_password": "wrong", **change})
    assert web.post("/account/password/", {"old_password": "alice-password-1", **change}).status_code == 302
    for _ in range(2):
        _sign_in("alice", "wrong")
    assert _sign_in("alice", "a-new-long-secret")[1].status_code == 302


# "Forgot your password?"

def _reset(client, email, address="10.0.0.1", **extra):
    """Asks as the page does, then lets the worker mail what was asked (platform/account_mail.py)."""
    response = client.post("/password-reset/", {"email": email}, REMOTE_ADDR=address, **extra)
    account_mail.account_mails_send()
    return response


def _link(message):
    return re.search(r"https://iot\.example\.com(/password-reset/\S+/\S+/)", message.body).group(1)


def test_the_sign_in_page_links_to_the_reset(client):
    assert 'href="/password-reset/">Forgot your password?</a>' in client.get("/login/").text
    page = client.get("/password-reset/").text
    assert "Reset your password" in page and 'class="card narrow"' in page  # the site's look, not the admin's


def test_a_reset_end_to_end(client, alice):
    response = _reset(client, "ALICE@example.com", HTTP_HOST="proxy.internal")  # the Host a proxy passes on
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert "Check your e-mail" in client.get(response["Location"]).text
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your password on iot.example.com"
    assert '"alice" on https://iot.example.com' in message.body and "72 hours" in message.body
    assert "proxy.internal" not in message.body  # the link is SITE_URL's, whatever the Host

    browser = Client()
    response = browser.get(_link(message))
    assert response.status_code == 302 and response["Location"].endswith("/set-password/")  # the token leaves the URL
    assert "Choose a new password" in browser.get(response["Location"]).text
    response = browser.post(response["Location"], {"new_password1": "a-new-long-secret",
                                                   "new_password2": "a-new-long-secret"}, follow=True)
    assert response.redirect_chain == [("/password-reset/complete/", 302)] and "Password set" in response.text
    assert _sign_in("alice", "a-new-long-secret")[1].status_code == 302
    assert _sign_in("alice", "alice-password-1")[1].status_code == 200
    assert "This link does not work" in Client().get(_link(message), follow=True).text  # once only


def test_the_new_password_is_validated(client, alice):
    _reset(client, "alice@example.com")
    form = client.get(_link(mail.outbox[0]))["Location"]
    response = client.post(form, {"new_password1": "password", "new_password2": "password"})
    assert response.status_code == 200 and "This password is too common." in response.text
    alice.refresh_from_db()
    assert alice.check_password("alice-password-1")


def test_an_unknown_address_gets_the_same_answer(client, alice):
    get_user_model().objects.create_user("gone", "gone@example.com", "gone-password-1", is_active=False)
    get_user_model().objects.create_user("nopass", "nopass@example.com", None)  # unusable password
    known = _reset(Client(), "alice@example.com")
    for email in ("nobody@example.com", "gone@example.com", "nopass@example.com"):
        response = _reset(Client(), email)
        assert (response.status_code, response["Location"]) == (known.status_code, known["Location"]), email
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_a_reset_clears_the_accounts_failed_sign_ins(client, alice):
    for _ in range(3):
        _sign_in("alice", "wrong", address="10.8.8.8")
    assert login.login_blocked(None, "alice")
    _reset(client, "alice@example.com")
    form = client.get(_link(mail.outbox[0]))["Location"]
    client.post(form, {"new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"})
    assert _sign_in("alice", "a-new-long-secret")[1].status_code == 302


def test_requests_are_throttled_per_email_address(client, alice):
    for n in range(2):
        assert _reset(Client(), "alice@example.com", address=f"10.1.0.{n}").status_code == 302
    response = _reset(Client(), "Alice@Example.com ", address="10.1.0.9")  # case and spaces do not dodge it
    assert response.status_code == 429 and "Too many password reset requests" in response.text
    assert len(mail.outbox) == 2
    # An address without an account is counted the same, so the refusal tells nothing either.
    for n in range(2):
        assert _reset(Client(), "nobody@example.com", address=f"10.2.0.{n}").status_code == 302
    assert _reset(Client(), "nobody@example.com", address="10.2.0.9").status_code == 429


def test_requests_are_throttled_per_requesting_address(client, alice, bob):
    for n in range(4):
        assert _reset(client, f"someone{n}@example.com").status_code == 302
    assert _reset(client, "bob@example.com").status_code == 429
    assert _reset(Client(), "bob@example.com", address="10.9.9.9").status_code == 302  # others still can
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]


def test_requests_go_through_when_the_cache_is_down(client, alice, monkeypatch, caplog):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")
            return fail

    monkeypatch.setattr(login, "cache", Down())
    with caplog.at_level(logging.WARNING, logger="platform.login"):
        for _ in range(3):
            assert _reset(client, "alice@example.com").status_code == 302
    assert len(mail.outbox) == 3
    assert "password reset throttle: cache unavailable; not throttling" in caplog.text


def test_the_web_process_only_queues_the_request(client, alice, django_capture_on_commit_callbacks):
    # Account or not, the web process does the same: one row, and the worker woken after commit.
    # Mailing from the web process made the answer slower exactly when an account existed.
    for email in ("alice@example.com", "nobody@example.com"):
        with django_capture_on_commit_callbacks() as woken:
            response = client.post("/password-reset/", {"email": email}, REMOTE_ADDR="10.0.0.1")
        assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
        assert woken == [account_mail.account_mails_wake]
    assert mail.outbox == []
    assert sorted(AccountMail.objects.values_list("email", flat=True)) == ["alice@example.com",
                                                                               "nobody@example.com"]
    assert account_mail.account_mails_send() == 2
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    assert not AccountMail.objects.exists()  # done with: nothing about the request is kept


@pytest.fixture
def smtp_down(settings):
    """SMTP settings for a local port where nothing listens (yet)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 3
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "noreply@iot.example.com"
    return settings


def test_a_failed_send_is_retried_until_smtp_answers(client, alice, smtp_down, smtp, caplog):  # noqa: F811
    smtp_down.ENDPOINTS_RETRY_SCHEDULE = [30, 30]
    client.post("/password-reset/", {"email": "alice@example.com"}, REMOTE_ADDR="10.0.0.1")
    with caplog.at_level(logging.WARNING, logger="platform.account_mail"):
        assert account_mail.account_mails_send() == 0
    row = AccountMail.objects.get()
    assert row.attempts == 1 and row.last_error and "failed (attempt 1)" in caplog.text
    assert account_mail.account_mails_send() == 0 and AccountMail.objects.get().attempts == 1  # not due yet

    smtp_down.EMAIL_PORT = smtp.port
    AccountMail.objects.update(next_attempt_at=row.created)
    assert account_mail.account_mails_send() == 1
    [received] = smtp.messages
    assert received.rcpt_tos == ["alice@example.com"] and received.mail_from == "noreply@iot.example.com"
    text = received.content.decode()
    assert "Subject: Reset your password on iot.example.com" in text
    link = re.search(r"https://iot\.example\.com(/password-reset/\S+/\S+/)", text).group(1)
    assert Client().get(link)["Location"].endswith("/set-password/")  # a working link
    assert not AccountMail.objects.exists()


def test_a_send_that_keeps_failing_is_given_up_and_logged(client, alice, smtp_down, caplog):
    smtp_down.ENDPOINTS_RETRY_SCHEDULE = [0]
    client.post("/password-reset/", {"email": "alice@example.com"}, REMOTE_ADDR="10.0.0.1")
    with caplog.at_level(logging.WARNING, logger="platform.account_mail"):
        account_mail.account_mails_send()
        account_mail.account_mails_send()
    assert not AccountMail.objects.exists()
    assert "failed for good after 2 attempts" in caplog.text


def test_a_lost_wake_up_is_logged_and_left_to_beat(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr("platform.tasks.send_account_mails_task.delay", down)
    with caplog.at_level(logging.WARNING, logger="platform.account_mail"):
        account_mail.account_mails_wake()
    assert "beat will send them" in caplog.text


# Notices: a change of password or e-mail address is told, so it cannot be made unseen.

def _notices():
    account_mail.account_mails_send()
    return [(m.to, m.subject, m.body) for m in mail.outbox]


def test_a_password_change_is_told_to_the_accounts_address(web, alice, bob):
    web.post("/account/password/", {"old_password": "alice-password-1", "new_password1": "a-new-long-secret",
                                    "new_password2": "a-new-long-secret"})
    [(to, subject, body)] = _notices()
    assert to == ["alice@example.com"] and subject == "Your password on iot.example.com was changed"
    assert 'The password of the account "alice" on https://iot.example.com was changed at ' in body
    assert f"{SITE}/password-reset/" in body and f"{SITE}/tokens/" in body  # what to do if it was not them


def test_a_wrong_password_change_tells_nothing(web, alice):
    web.post("/account/password/", {"old_password": "wrong", "new_password1": "a-new-long-secret",
                                    "new_password2": "a-new-long-secret"})
    assert _notices() == [] and not AccountMail.objects.exists()


def test_a_password_set_by_a_reset_link_is_told_too(client, alice):
    _reset(client, "alice@example.com")
    form = client.get(_link(mail.outbox[0]))["Location"]
    client.post(form, {"new_password1": "a-new-long-secret", "new_password2": "a-new-long-secret"})
    assert [(to, subject) for to, subject, _ in _notices()[1:]] == [
        (["alice@example.com"], "Your password on iot.example.com was changed")]


def test_an_email_change_is_told_to_the_old_address(web, alice):
    web.post("/account/email/", {"email": "alice@example.org", "password": "alice-password-1"})
    [(to, subject, body)] = _notices()
    assert to == ["alice@example.com"] and subject == "Your e-mail address on iot.example.com was changed"
    assert "from alice@example.com to alice@example.org" in body and "no longer come to this address" in body
    # Removed: the old address is told that too. Without an address, a password change tells no one.
    web.post("/account/email/", {"email": "", "password": "alice-password-1"})
    assert "from alice@example.org to none (the address was removed)" in _notices()[-1][2]
    mail.outbox.clear()
    web.post("/account/password/", {"old_password": "alice-password-1", "new_password1": "a-new-long-secret",
                                    "new_password2": "a-new-long-secret"})
    assert _notices() == []


def test_saving_the_same_address_tells_nothing(web, alice):
    response = web.post("/account/email/", {"email": "alice@EXAMPLE.com", "password": "alice-password-1"}, follow=True)
    assert _notices() == []
    assert "E-mail address unchanged: it is alice@example.com." in _toasts(response)


def test_an_operators_password_change_is_told_and_lifts_the_lockout(root, alice):
    for _ in range(3):
        _sign_in("alice", "wrong", address="10.8.8.8")
    assert login.login_blocked(None, "alice")
    response = root.post(f"/admin/auth/user/{alice.pk}/password/",
                         {"password1": "set-by-the-operator-1", "password2": "set-by-the-operator-1"})
    assert response.status_code == 302
    assert [(to, subject) for to, subject, _ in _notices()] == [
        (["alice@example.com"], "Your password on iot.example.com was changed")]
    assert _sign_in("alice", "set-by-the-operator-1")[1].status_code == 302  # not locked out any more
    # `manage.py changepassword` and the shell go through set_password and save too.
    alice.refresh_from_db()
    alice.set_password("set-in-the-shell-1")
    alice.save()
    assert len(_notices()) == 2


def test_neither_a_new_account_nor_a_hash_upgraded_at_sign_in_is_a_change(settings):
    get_user_model().objects.create_user("carol", "carol@example.com", "carol-password-1")
    assert not AccountMail.objects.exists()
    # Signing in with a hash of a hasher no longer preferred stores a new hash: not a change.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    old_hash = get_user_model().objects.get(username="carol").password
    assert old_hash.startswith("md5$")
    assert _sign_in("carol", "carol-password-1")[1].status_code == 302
    assert get_user_model().objects.get(username="carol").password.startswith("pbkdf2_")
    assert not AccountMail.objects.exists()


def test_an_operators_email_change_is_told_to_the_old_address(alice, django_assert_num_queries):
    alice.email = "alice@elsewhere.example"
    alice.save()  # as the admin's change form and the shell do
    [(to, subject, body)] = _notices()
    assert to == ["alice@example.com"] and subject == "Your e-mail address on iot.example.com was changed"
    assert "from alice@example.com to alice@elsewhere.example" in body
    with django_assert_num_queries(1):  # a save that cannot write the address does not read it either
        alice.save(update_fields=["last_login"])


def test_operators_see_the_mails_waiting_in_the_admin(root, alice, smtp_down):
    smtp_down.ENDPOINTS_RETRY_SCHEDULE = [30]
    _reset(Client(), "alice@example.com")  # SMTP down: it waits for its next attempt
    page = root.get("/admin/platform/accountmail/").text
    assert "alice@example.com" in page and "ConnectionRefusedError" in page
    row = AccountMail.objects.get()
    assert root.get(f"/admin/platform/accountmail/{row.pk}/change/").status_code == 200  # viewed, not edited
    assert root.get("/admin/platform/accountmail/add/").status_code == 403
