"""Where `make run` listens and which base URL it prints. 127.0.0.1 is reachable from this
computer only; a board on the network needs the machine's LAN address, so `make run HOST=0.0.0.0`
listens on every interface and, unless SITE_URL says otherwise, prints URLs with the LAN address."""
import ipaddress
import socket


def lan_address() -> str:
    """The address this machine uses to reach the network; 127.0.0.1 when it has none. A UDP
    socket's connect only picks the route: no packet is sent."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"


def default_site_url(bind: str) -> str:
    """The base URL for a `host:port` bind address: the LAN address when listening everywhere."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    if host in ("0.0.0.0", "::"):
        host = lan_address()
    return f"http://{host}:{port or 8000}" if ":" not in host else f"http://[{host}]:{port or 8000}"


def reachable_from_this_computer_only(url_host: str | None) -> bool:
    """True for loopback names and addresses: a device elsewhere cannot use such a URL."""
    if not url_host:
        return False
    if url_host == "localhost" or url_host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(url_host.strip("[]")).is_loopback
    except ValueError:
        return False
