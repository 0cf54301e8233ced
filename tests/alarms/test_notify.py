"""Notifications go through the delivery engine (endpoints) and a retried e-mail sender, against
real local servers: the endpoints test receiver, and aiosmtpd as the SMTP server."""

import pytest
from django.utils import timezone

from alarms.models import Alarm, AlarmEmail
from alarms.notify import emails_send
from endpoints.models import Delivery, Endpoint
from endpoints.sender import Sender
from tests.alarms.conftest import free_port, ingest, make_rule
from tests.endpoints.conftest import receiver  # noqa: F401  (a real local HTTP server)
from tests.smtp import Inbox

BODY = ('{"text": "{{alarm.rule}} on {{alarm.device}}: {{alarm.severity}} {{alarm.state}}", '
        '"value": {{alarm.value}}, "url": "{{alarm.url}}", "device": "{{device}}"}')


def _due_now(model, **filters):
    model.objects.filter(**filters).update(next_attempt_at=timezone.now())


def test_endpoint_gets_the_alarm_as_template_data_and_is_retried_until_it_answers(alice, device, receiver,
                                                                                  settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [60, 60]
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="hook", url=f"{receiver.url}/alarm", body=BODY,
                                       timeout=2)
    rule = make_rule(alice, endpoints=[endpoint])
    receiver.answers = [500]
    ingest(device, {"temperature": 41.5})
    alarm = Alarm.objects.get(rule=rule)
    delivery = Delivery.objects.get(endpoint=endpoint)
    assert delivery.message_id is None and delivery.state == "pending" and delivery.device_id == "d1"

    Sender(budget=30, idle_exit=0.2).run()  # the receiver answers 500
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now()  # retried later, like a message's delivery

    _due_now(Delivery, pk=delivery.pk)
    Sender(budget=30, idle_exit=0.2).run()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    sent = receiver.requests[-1]
    assert sent.json() == {"text": "too-hot on d1: high active", "value": 41.5,
                           "url": f"https://iot.example.com/alarms/{alarm.pk}/", "device": "d1"}
    assert sent.headers["X-Message-Id"] == f"call-{delivery.pk}"
    notify = alarm.events.get(type="notify", delivery=delivery)
    assert "endpoint hook" in notify.detail


def test_without_a_body_template_the_endpoint_receives_the_alarm_json(alice, device, receiver):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="hook", url=f"{receiver.url}/alarm", timeout=2)
    make_rule(alice, endpoints=[endpoint])
    ingest(device, {"temperature": 45})
    ingest(device, {"temperature": 20})
    Sender(budget=30, idle_exit=0.2).run()
    bodies = [r.json()["alarm"] for r in receiver.requests]
    assert [(b["event"], b["state"], b["value"]) for b in bodies] == [("activate", "active", 45),
                                                                      ("normalize", "normalized", 45)]
    # `value` opened it; what closed it is in `detail`, with the time it closed.
    assert "Value 20" in bodies[1]["detail"] and bodies[1]["normalized"] >= bodies[1]["activated"]
    assert bodies[0]["normalized"] is None


def test_a_normalized_alarms_email_says_what_closed_it_and_offers_no_action(alice, device):
    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 45})
    ingest(device, {"temperature": 20})
    activated, normalized = AlarmEmail.objects.filter(alarm__rule=rule).order_by("id")
    assert activated.subject == "[high] too-hot: d1 ACTIVE"
    assert "Opened by the value: 45" in activated.body and "Acknowledge, shelve or clear it here" in activated.body
    assert normalized.subject == "[high] too-hot: d1 NORMALIZED"
    assert "Value 20: the condition no longer holds." in normalized.body
    assert "Opened by the value: 45" in normalized.body and "Normalized at: " in normalized.body
    assert "Acknowledge" not in normalized.body
    assert "Alarm too-hot on device d1 is NORMALIZED." in normalized.body  # not "too-hot (too-hot)"


def test_a_disabled_endpoint_is_not_called(alice, device):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="hook", url="http://127.0.0.1:9/", enabled=False)
    make_rule(alice, endpoints=[endpoint])
    ingest(device, {"temperature": 45})
    assert not Delivery.objects.exists()


@pytest.fixture
def smtp_settings(settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 3
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "alarms@iot.example.com"
    settings.ENDPOINTS_RETRY_SCHEDULE = [30, 30]
    return port


def test_email_is_retried_while_smtp_is_down_and_sent_once_it_is_up(alice, device, smtp_settings):
    from aiosmtpd.controller import Controller

    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 41.5})
    alarm = Alarm.objects.get(rule=rule)

    assert emails_send() == 0  # nothing listens on the port
    email = AlarmEmail.objects.get(alarm=alarm)
    assert (email.state, email.attempts) == ("pending", 1)
    assert email.last_error and email.next_attempt_at > timezone.now()
    failed = alarm.events.filter(type="notify", detail__contains="failed (attempt 1)")
    assert failed.count() == 1
    assert emails_send() == 0  # not due yet: nothing is tried
    assert AlarmEmail.objects.get(pk=email.pk).attempts == 1

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=smtp_settings)
    server.start()
    try:
        _due_now(AlarmEmail, pk=email.pk)
        assert emails_send() == 1
    finally:
        server.stop()
    email.refresh_from_db()
    assert (email.state, email.attempts, email.last_error) == ("sent", 2, "")
    [received] = inbox.messages
    assert received.rcpt_tos == ["ops@example.com"] and received.mail_from == "alarms@iot.example.com"
    text = received.content.decode()
    assert "Subject: [high] too-hot: d1 ACTIVE" in text
    assert f"https://iot.example.com/alarms/{alarm.pk}/" in text
    assert alarm.events.filter(type="notify", detail__contains="sent").count() == 1


def test_email_gives_up_after_the_schedule(alice, device, smtp_settings, settings):
    settings.ENDPOINTS_RETRY_SCHEDULE = [0]
    rule = make_rule(alice, emails=["ops@example.com"])
    ingest(device, {"temperature": 41.5})
    emails_send()
    emails_send()
    email = AlarmEmail.objects.get(alarm__rule=rule)
    assert (email.state, email.attempts) == ("failed", 2)
    assert Alarm.objects.get(rule=rule).events.filter(detail__contains="failed for good").exists()


def test_console_backend_is_the_embedded_default():
    from platform.settings import _email

    assert _email("console://") == {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    smtp = _email("smtp+tls://me%40x.org:p%3Ass@mail.example.com")
    assert (smtp["EMAIL_HOST"], smtp["EMAIL_PORT"], smtp["EMAIL_USE_TLS"], smtp["EMAIL_HOST_USER"],
            smtp["EMAIL_HOST_PASSWORD"]) == ("mail.example.com", 587, True, "me@x.org", "p:ss")
    with pytest.raises(Exception, match="EMAIL_URL"):
        _email("carrier-pigeon://coop")
