""""Forgot your password?" as a user meets it, in a real browser against the web server (Granian)
and a Celery worker that mails the link through a real local SMTP server: ask, get the e-mail,
follow the link, choose a password, get told of the change, sign in with the new password."""
import re

import pytest

from tests.e2e.test_ui import browser  # noqa: F401  (the browser fixture)
from tests.smtp import smtp  # noqa: F401  (a real local SMTP server)
from tests.stack import Stack, live_database_url, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ui]


@pytest.fixture
def stack(transactional_db, tmp_path, smtp):  # noqa: F811
    running = Stack(env={"DATABASE_URL": live_database_url(), "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
                         "EMAIL_FROM": "noreply@example.com"}, tmp_path=tmp_path)
    try:
        running.start_web().start_worker()
        yield running
    finally:
        running.stop()


def test_forgotten_password_from_the_sign_in_page(stack, browser, smtp, alice):  # noqa: F811
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    page.goto(f"{stack.url}/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill("alice@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("h1")).to_have_text("Check your e-mail")

    # The worker mails it (the web process only queued the request).
    wait_until(lambda: smtp.messages, timeout=30, what="the reset e-mail")
    [received] = smtp.messages
    assert received.rcpt_tos == ["alice@example.com"] and received.mail_from == "noreply@example.com"
    link = re.search(rf"{re.escape(stack.url)}/password-reset/\S+/\S+/", received.content.decode()).group(0)

    page.goto(link)
    expect(page.locator("h1")).to_have_text("Choose a new password")
    page.fill("#id_new_password1", "a-new-long-secret")
    page.fill("#id_new_password2", "a-new-long-secret")
    page.get_by_role("button", name="Set the password").click()
    expect(page.locator("h1")).to_contain_text("Password set")

    # The account's address is told that its password changed.
    wait_until(lambda: len(smtp.messages) == 2, timeout=30, what="the notice of the change")
    assert "Subject: Your password on 127.0.0.1" in smtp.messages[1].content.decode()

    page.goto(f"{stack.url}/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "a-new-long-secret")
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.url}/")
