"""An answer whose status came but whose body cannot be read as sent: the status alone decides.
A 2xx was received, so it is a success, sent once; the body is logged as far as it could be read.

Each was a failure: a connection's message was sent again after every blame period (a gzip that
is not), failed for good after it had arrived (an unknown charset), and the endpoint's /call
answered 500."""
import asyncio

import pytest

from endpoints.models import Connection, Delivery
from endpoints.transport import AsyncTransport, http_send
from tests.endpoints.test_delivery_engine import _deliver, _message, _time_passes

ODD = {
    "unknown charset": ("raw", 200, {"Content-Type": "text/plain; charset=foo", "Content-Length": "2"}, b"ok"),
    "a gzip that is not": ("raw", 200, {"Content-Encoding": "gzip", "Content-Length": "5"}, b"hello"),
    "shorter than its length": ("raw", 200, {"Content-Length": "100"}, b"{}"),
    "a text codec that is not": ("raw", 200, {"Content-Type": "text/plain; charset=rot13", "Content-Length": "2"},
                                 b"ok"),
}


async def _send_async(url):
    transport = AsyncTransport()
    try:
        return await transport.send(method="POST", url=url, body="{}", timeout=3)
    finally:
        await transport.close()


@pytest.mark.parametrize("odd", list(ODD))
def test_both_clients_answer_with_the_status(receiver, odd):
    for send in (lambda url: http_send(method="POST", url=url, body="{}", timeout=3),
                 lambda url: asyncio.run(_send_async(url))):
        receiver.answers.append(ODD[odd])
        answer = send(f"{receiver.url}/in")
        assert answer.status == 200 and answer.ok
        assert answer.body in ("ok", "{}") or "body could not be read" in answer.body, answer.body


@pytest.mark.parametrize("odd", list(ODD))
def test_an_endpoint_call_answers_what_came_back_not_500(api, alice, endpoint, receiver, odd):
    receiver.answers.append(ODD[odd])
    response = api(alice).post("/v1/users/alice/endpoints/e1/call", {"a": 1}, format="json")
    assert response.status_code == 200 and response.json()["status"] == 200, response.content


@pytest.mark.parametrize("odd", list(ODD))
def test_an_applications_2xx_is_delivered_once(device, connection, receiver, odd):
    device.applications.add(connection)
    receiver.answers.append(ODD[odd])
    _message(device, {"a": 1})
    for _ in range(3):
        _deliver()
        _time_passes()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.last_status) == ("delivered", 200), delivery.last_error
    assert len(receiver.requests) == 1
    assert Connection.objects.get(pk=connection.pk).state == "OPENED"
