import asyncio
import ipaddress
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from endpoints import transport
from endpoints.transport import LOG_LIMIT, TransportError, headers_check, http_send, truncate


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


# --- DNS rebinding: the connection goes to the address the guard checked ------------------------

@pytest.fixture
def hostile_dns(settings, monkeypatch):
    """Guard on, 127.0.0.1 standing in for a public address (the only one "allowed"), and a
    resolver scripted per name: each look-up of a name returns the next answer of its list (the
    last one repeats), as a rebinding DNS server would. Records every look-up."""
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    monkeypatch.setattr(transport, "_address_refused", lambda ip: ip != ipaddress.ip_address("127.0.0.1"))
    real = socket.getaddrinfo
    script, lookups = {}, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in script:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        answers = script[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port)) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return script, lookups


def test_connects_to_the_checked_address_not_a_second_lookup(hostile_dns, receiver):
    script, lookups = hostile_dns
    port = receiver.server.server_address[1]
    # Checked: 127.0.0.1 ("public"). Any later look-up: 127.0.0.2, where nothing listens; a
    # client that resolved again would get "connection refused" (or reach the wrong host).
    script["rebind.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    answer = http_send(method="POST", url=f"http://rebind.test:{port}/in", body="{}", timeout=5)
    assert answer.status == 200
    assert lookups == ["rebind.test"]
    assert receiver.requests[0].headers["Host"] == f"rebind.test:{port}"
    assert receiver.requests[0].path == "/in"


def test_guard_still_refuses_a_name_with_a_private_record(hostile_dns, receiver):
    script, _ = hostile_dns
    script["mixed.test"] = [["127.0.0.1", "10.0.0.1"]]
    with pytest.raises(TransportError) as caught:
        http_send(method="GET", url=f"http://mixed.test:{receiver.server.server_address[1]}/", timeout=2)
    assert caught.value.permanent and receiver.requests == []


def test_next_checked_address_is_tried_when_one_refuses(hostile_dns, monkeypatch, receiver):
    script, _ = hostile_dns
    monkeypatch.setattr(transport, "_address_refused",
                        lambda ip: str(ip) not in ("127.0.0.1", "127.0.0.3"))
    script["two.test"] = [["127.0.0.3", "127.0.0.1"]]  # nothing listens on the first one
    answer = http_send(method="GET", url=f"http://two.test:{receiver.server.server_address[1]}/", timeout=5)
    assert answer.status == 200 and len(receiver.requests) == 1


@pytest.fixture
def tls_server(tmp_path):
    """A real HTTPS server on 127.0.0.1 with a self-signed certificate for pinned.test; records the
    TLS server name (SNI) and Host header of each request."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=pinned.test", "-addext", "subjectAltName=DNS:pinned.test"],
                   check=True, capture_output=True)
    seen = {"sni": [], "host": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"].append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], str(cert), seen
    server.shutdown()
    server.server_close()


def test_https_to_the_checked_address_keeps_sni_and_certificate_check(hostile_dns, monkeypatch, tls_server):
    script, lookups = hostile_dns
    port, cafile, seen = tls_server
    monkeypatch.setattr(transport._session, "verify", cafile)  # trust the test certificate only
    script["pinned.test"] = [["127.0.0.1"], ["127.0.0.2"]]
    answer = http_send(method="GET", url=f"https://pinned.test:{port}/", timeout=5)
    assert (answer.status, answer.body) == (200, "ok")
    assert seen["sni"] == ["pinned.test"] and seen["host"] == [f"pinned.test:{port}"]
    assert lookups == ["pinned.test"]
    # The certificate is still checked against the name: another name on the same address fails.
    script["other.test"] = [["127.0.0.1"]]
    with pytest.raises(TransportError) as caught:
        http_send(method="GET", url=f"https://other.test:{port}/", timeout=5)
    assert "certificate" in str(caught.value).lower() or "hostname" in str(caught.value).lower()
    assert len(seen["host"]) == 1


# Values go out as UTF-8 from both clients, so characters outside Latin-1 pass too.
@pytest.mark.parametrize("value", ["plain", "a\tb", "café", "ÿ", "€", "a\u0100", "東京"])
def test_header_values_any_client_can_send_pass(value):
    assert headers_check({"X-Thing": value}) == {"X-Thing": value}


@pytest.mark.parametrize(("value", "refused"), [
    ("a\nb", "control character"), ("a\rb", "control character"), ("\x00", "control character"),
    ("a\x7f", "control character"), ("\x1f", "control character"), ("a\ud800", "not valid Unicode")])
def test_header_values_no_client_can_send_are_refused_permanently(value, refused):
    with pytest.raises(TransportError) as caught:
        headers_check({"X-Thing": value})
    assert refused in str(caught.value) and "X-Thing" in str(caught.value) and caught.value.permanent


@pytest.mark.parametrize("name", ["Content-Length", "transfer-encoding", "CONNECTION", "Keep-Alive", "Upgrade",
                                  "TE", "Trailer", "Proxy-Connection"])
def test_headers_the_client_sets_itself_are_refused_permanently(name):
    """Saved before the header rule refused them: sending them would frame the body wrongly or
    desynchronise the keep-alive connection, so the delivery fails for good, saying why."""
    with pytest.raises(TransportError) as caught:
        headers_check({"X-A": "1", name: "5"})
    assert name in str(caught.value) and "platform sets this header itself" in str(caught.value)
    assert caught.value.permanent


def test_a_content_length_is_never_sent_by_either_client(receiver):
    for send in (lambda: http_send(method="POST", url=receiver.url, headers={"Content-Length": "5"},
                                   body='{"a": "twenty-five bytes"}', timeout=3),
                 lambda: asyncio.run(_send_async(receiver.url, headers={"Content-Length": "5"}))):
        with pytest.raises(TransportError) as caught:
            send()
        assert caught.value.permanent and "Content-Length" in str(caught.value)
    assert receiver.requests == []


async def _send_async(url, **kwargs):
    client = transport.AsyncTransport()
    try:
        return await client.send(method="POST", url=url, body='{"a": "twenty-five bytes"}', timeout=3, **kwargs)
    finally:
        await client.close()


def test_a_host_override_is_sent_by_both_clients(hostile_dns, receiver):
    """A name-based virtual host: the endpoint's Host header is kept, guard on (pinned address) or
    off, by requests as by aiohttp."""
    script, _ = hostile_dns
    port = receiver.server.server_address[1]
    script["pinned.test"] = [["127.0.0.1"]]
    url = f"http://pinned.test:{port}/in"
    assert http_send(method="POST", url=url, headers={"Host": "vhost.example"}, body="{}", timeout=5).ok
    assert asyncio.run(_send_async(url, headers={"Host": "vhost.example"})).ok
    assert [r.headers["Host"] for r in receiver.requests] == ["vhost.example", "vhost.example"]
