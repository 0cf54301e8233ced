"""The bytes of a header on the wire, read on a real socket: every path sends the same value as the
same bytes. The /call API and the web page's "Send test" go through requests (http.client), the
deliveries through aiohttp; http.client used to send "café" as Latin-1 and aiohttp as UTF-8."""
import socket
import threading

import pytest
from django.test import Client

from endpoints.models import Endpoint
from tests.endpoints.test_delivery import _deliver, _message

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class RawServer:
    """Accepts connections on 127.0.0.1, keeps each request's head (request line and header lines)
    exactly as received, answers 200 and closes."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.heads: list[bytes] = []
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:  # closed by stop()
                return
            with conn:
                conn.settimeout(5)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                self.heads.append(received.partition(b"\r\n\r\n")[0])
                conn.sendall(ANSWER)

    def header_line(self, index: int, name: bytes) -> bytes:
        """The raw line of header `name` in request `index` (one line, as it came)."""
        lines = [line for line in self.heads[index].split(b"\r\n")[1:]
                 if line.lower().startswith(name.lower() + b":")]
        assert len(lines) == 1, self.heads[index]
        return lines[0]

    def stop(self) -> None:
        self.socket.close()


@pytest.fixture
def raw_server():
    server = RawServer()
    yield server
    server.stop()


@pytest.mark.parametrize("value", ["café", "東京 €", "plain"])
def test_a_header_is_the_same_bytes_from_the_call_api_the_send_test_and_a_delivery(
        alice, api, device, raw_server, value):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{raw_server.url}/in",
                                       headers={"X-PL": "{{s}}"}, timeout=5)
    called = api(alice).post("/v1/users/alice/endpoints/e1/call", {"s": value}, format="json")
    assert called.status_code == 200, called.content
    web = Client()
    web.force_login(alice)
    tested = web.post("/endpoints/e1/test/", {"payload": f'{{"s": "{value}"}}'})
    assert tested.status_code == 200 and "HTTP 200" in tested.content.decode(), tested.content[:500]
    device.call_endpoint = endpoint
    device.save()
    _message(device, {"s": value})
    _deliver(endpoint)
    assert len(raw_server.heads) == 3
    expected = b"X-PL: " + value.encode("utf-8")
    assert [raw_server.header_line(i, b"X-PL") for i in range(3)] == [expected] * 3


def test_an_applications_header_placeholder_goes_out_as_utf8(alice, device, raw_server):
    from endpoints.models import Connection

    connection = Connection.objects.create(owner=alice, name="App", destination_url=f"{raw_server.url}/up",
                                           headers={"X-City": "{payload.city}", "X-Name": "{DeviceName}"})
    device.name = "Küche"
    device.save()
    device.applications.add(connection)
    _message(device, {"city": "café"})
    _deliver(connection)
    assert raw_server.header_line(0, b"X-City") == "X-City: café".encode()
    assert raw_server.header_line(0, b"X-Name") == "X-Name: Küche".encode()
