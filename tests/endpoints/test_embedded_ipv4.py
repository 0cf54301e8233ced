"""Issue 18: an IPv6 address that carries an IPv4 address inside is judged by that address too.

Forms covered: IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), 6to4 (2002::/16),
NAT64 well-known (64:ff9b::/96), NAT64 local-use (64:ff9b:1::/48, RFC 6052 /48 and /96
placements), Teredo (2001::/32) server field and client field. Each embeds a loopback, private,
link-local and the cloud metadata address. Every URL is an IP literal, so resolving it sends no
packet, and the guard refuses it before any connection is made."""
import ipaddress

import pytest

from devices.ingest import messages_apply
from devices.models import Message
from endpoints.models import Connection, Delivery, Endpoint
from endpoints.sender import Sender
from endpoints.transport import TransportError, address_check, embedded_ipv4

INNER = {"loopback": "127.0.0.1", "private": "10.1.2.3", "link-local": "169.254.1.1",
         "metadata": "169.254.169.254"}
PUBLIC = "8.8.8.8"


def _hex(v4):
    packed = ipaddress.IPv4Address(v4).packed
    return f"{packed[0]:02x}{packed[1]:02x}:{packed[2]:02x}{packed[3]:02x}"


def _teredo_client(v4):
    inverted = bytes(b ^ 0xFF for b in ipaddress.IPv4Address(v4).packed)
    return f"{inverted[0]:02x}{inverted[1]:02x}:{inverted[2]:02x}{inverted[3]:02x}"


def _nat64_local_48(v4):
    # RFC 6052 with a /48 prefix: 16 bits of the IPv4 address, the reserved octet, then 16 more.
    b = ipaddress.IPv4Address(v4).packed
    return f"64:ff9b:1:{b[0]:02x}{b[1]:02x}:00{b[2]:02x}:{b[3]:02x}00::"


FORMS = {
    "ipv4-mapped": lambda v4: f"::ffff:{v4}",
    "ipv4-compatible": lambda v4: f"::{v4}",
    "6to4": lambda v4: f"2002:{_hex(v4)}::1",
    "nat64": lambda v4: f"64:ff9b::{v4}",
    "nat64-local-96": lambda v4: f"64:ff9b:1::{v4}",
    "nat64-local-48": _nat64_local_48,
    "teredo-server": lambda v4: f"2001:0:{_hex(v4)}:0:0:{_teredo_client(PUBLIC)}",
    "teredo-client": lambda v4: f"2001:0:{_hex(PUBLIC)}:0:0:{_teredo_client(v4)}",
}
CASES = [(form, kind, build(v4)) for form, build in FORMS.items() for kind, v4 in INNER.items()]


@pytest.fixture
def guard_on(settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False


@pytest.mark.parametrize("form,kind,address", CASES, ids=[f"{f}-{k}" for f, k, _ in CASES])
def test_each_form_is_unwrapped_and_refused(guard_on, form, kind, address):
    assert ipaddress.IPv4Address(INNER[kind]) in embedded_ipv4(ipaddress.ip_address(address)), address
    with pytest.raises(TransportError) as caught:
        address_check(f"http://[{address}]/latest/meta-data/")
    assert caught.value.permanent and "private or reserved address" in str(caught.value)


def test_6to4_with_a_public_address_inside_is_still_allowed(guard_on):
    # The rule refuses by what is embedded, not every 6to4 address.
    assert address_check(f"http://[{FORMS['6to4'](PUBLIC)}]/") == ["2002:808:808::1"]
    assert address_check(f"http://[::ffff:{PUBLIC}]/") == ["::ffff:808:808"]


def test_plain_addresses_embed_nothing():
    assert embedded_ipv4(ipaddress.ip_address("2001:4860:4860::8888")) == []
    assert embedded_ipv4(ipaddress.ip_address("127.0.0.1")) == []


METADATA_6TO4 = FORMS["6to4"]("169.254.169.254")


@pytest.mark.parametrize("url", [f"http://[{METADATA_6TO4}]/latest/meta-data/",
                                 f"http://[{METADATA_6TO4}]/{{{{device}}}}/{{{{payload.path}}}}"])
def test_api_saves_then_call_is_refused_for_good(guard_on, alice, api, receiver, url):
    client = api(alice)
    saved = client.post("/v1/users/alice/endpoints", {"endpoint": "e1", "config": {"url": url}}, format="json")
    assert saved.status_code == 201, saved.content
    called = client.post("/v1/users/alice/endpoints/e1/call", {"path": "x"}, format="json")
    assert called.status_code == 400, called.content
    assert "private or reserved address" in called.json()["error"]["message"]
    assert receiver.requests == []


@pytest.mark.parametrize("form", list(FORMS))
def test_delivery_to_an_embedded_private_address_fails_for_good(guard_on, alice, device, receiver, form):
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1",
                                       url=f"http://[{FORMS[form]('127.0.0.1')}]/in/{{{{device}}}}")
    device.call_endpoint = endpoint
    device.save()
    message = Message.objects.create(device=device, payload={"t": 1}, ts=1700000000123)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    Sender(budget=30, idle_exit=0.2).run()
    delivery = Delivery.objects.get()
    assert delivery.state == "failed" and "private or reserved" in delivery.last_error
    assert receiver.requests == []


def test_connection_delivery_to_6to4_metadata_fails_for_good(guard_on, alice, device, receiver):
    connection = Connection.objects.create(owner=alice, name="App",
                                           destination_url=f"http://[{METADATA_6TO4}]/latest/meta-data/")
    device.applications.add(connection)
    message = Message.objects.create(device=device, payload={"t": 1}, ts=1700000000123)
    messages_apply(list(Message.objects.filter(pk=message.pk).select_related("device")))
    Sender(budget=30, idle_exit=0.2).run()
    delivery = Delivery.objects.get()
    assert delivery.state == "failed" and "private or reserved" in delivery.last_error
    assert receiver.requests == []
