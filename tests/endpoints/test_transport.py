import pytest

from endpoints.transport import LOG_LIMIT, TransportError, http_send, truncate


def test_sends_and_reads_the_answer(receiver):
    answer = http_send(method="POST", url=f"{receiver.url}/x", headers={"X-A": "1"}, body='{"a":1}', timeout=5)
    assert answer.status == 200 and answer.ok and '"ok": true' in answer.body
    assert receiver.requests[0].headers["X-A"] == "1" and receiver.requests[0].json() == {"a": 1}


def test_redirects_are_not_followed(receiver):
    receiver.answers = [302]
    assert http_send(method="GET", url=receiver.url, timeout=5).status == 302
    assert len(receiver.requests) == 1


def test_private_address_refused_when_guard_on(settings, receiver):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    for url in (receiver.url, "http://localhost:1/", "http://10.0.0.1/", "http://169.254.169.254/latest",
                "http://[::1]:80/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"):
        with pytest.raises(TransportError) as caught:
            http_send(method="GET", url=url, timeout=2)
        assert caught.value.permanent, url
    assert receiver.requests == []


def test_private_address_allowed_when_guard_off(settings, receiver):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True
    assert http_send(method="GET", url=receiver.url, timeout=5).status == 200


def test_timeout_is_a_temporary_error(receiver):
    receiver.answers = [("sleep", 3, 200)]
    with pytest.raises(TransportError) as caught:
        http_send(method="GET", url=receiver.url, timeout=1)
    assert not caught.value.permanent


def test_refused_connection_is_a_temporary_error(receiver):
    url = receiver.url
    receiver.stop()
    with pytest.raises(TransportError) as caught:
        http_send(method="GET", url=url, timeout=2)
    assert not caught.value.permanent


def test_bad_scheme_is_permanent():
    with pytest.raises(TransportError) as caught:
        http_send(method="GET", url="ftp://example.com/", timeout=2)
    assert caught.value.permanent


def test_truncate():
    assert truncate("x" * (LOG_LIMIT + 5)).endswith("[5 more characters]")
