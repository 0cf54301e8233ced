"""A warning for the endpoint and application pages when a URL points at this machine or the
private network, which the outbound-address guard (endpoints/transport.py) refuses by default."""
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

ALLOW_HINT = ("To allow it on your own server (a receiver on this machine or your network), set "
              "ENDPOINTS_ALLOW_PRIVATE_IPS=true in the environment and restart.")


def private_url_warning(url: str | None) -> str | None:
    """A sentence saying sends to `url` will be refused, or None. Only literal addresses and
    localhost are judged: no DNS lookup while a page renders (the guard itself resolves names)."""
    if settings.ENDPOINTS_ALLOW_PRIVATE_IPS or not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or "{" in host:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        refused = True
    else:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return None
        if ip.version == 6 and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        refused = not ip.is_global
    if not refused:
        return None
    return f"{host} is a loopback or private address: sends to it are refused. {ALLOW_HINT}"
