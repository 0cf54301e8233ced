"""Where `make run` listens and which base URL it prints. 127.0.0.1 is reachable from this
computer only; a board on the network needs the machine's LAN address, so `make run HOST=0.0.0.0`
listens on every interface and, unless SITE_URL says otherwise, prints URLs with the LAN address."""
import ipaddress
import os
import socket
from pathlib import Path


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


def served_site_url_file(var_dir: Path) -> Path:
    """Where `make run` (runstack) writes the base URL it serves at, for the commands run beside it."""
    return var_dir / "site_url"


def command_site_url(site_url: str, var_dir: Path) -> str:
    """The base URL a command run in another terminal prints (create_device's curl): its own
    settings' unless neither SITE_URL nor BIND is set there, then the one `make run` serves at
    (`make run PORT=8124` sets BIND for its own processes only)."""
    served = served_site_url_file(var_dir)
    if "SITE_URL" in os.environ or "BIND" in os.environ or not served.exists():
        return site_url
    return served.read_text().strip() or site_url
