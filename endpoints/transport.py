"""The only code that makes outbound HTTP.

Every request goes through `http_send`: one session, connect and read timeouts, no redirects
followed, the response read up to a cap, and private, loopback, link-local and reserved addresses
refused on the resolved address (unless `ENDPOINTS_ALLOW_PRIVATE_IPS`), so a user cannot point an
endpoint at the platform's own network. Failures are one typed error, `TransportError`, whose
`permanent` flag says whether retrying can help.
"""
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings

USER_AGENT = "http-devices/1.0 (+endpoints)"
# How much of an answer is read at all, and how much of it a log row keeps.
READ_LIMIT = 64 * 1024
LOG_LIMIT = 2000

_session = requests.Session()
# Proxies from the environment would bypass the address guard.
_session.trust_env = False


class TransportError(Exception):
    """A request that got no HTTP answer. `permanent`: retrying the same request cannot succeed
    (a refused address, a malformed URL); otherwise it may (timeout, refused connection, DNS)."""

    def __init__(self, message, *, permanent=False):
        super().__init__(message)
        self.permanent = permanent


@dataclass
class HttpAnswer:
    status: int
    body: str
    ms: int
    headers: dict = field(default_factory=dict)

    @property
    def ok(self):
        return 200 <= self.status < 300


def truncate(text, limit=LOG_LIMIT):
    """Text cut for a log row, saying that it was cut."""
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def _address_refused(ip):
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or not ip.is_global)


def address_check(url):
    """Refuses a URL whose host resolves to any non-public address. Every resolved address is
    checked, so a name with one public and one private record is refused too."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TransportError(f"Only http:// and https:// URLs can be called, not {url[:100]!r}.", permanent=True)
    host = parts.hostname
    if not host:
        raise TransportError(f"The URL {url[:100]!r} has no host.", permanent=True)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TransportError(f"The URL {url[:100]!r} has an invalid port.", permanent=True) from None
    if settings.ENDPOINTS_ALLOW_PRIVATE_IPS:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"Cannot resolve {host}: {exc}") from None
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if _address_refused(ip):
            raise TransportError(f"{host} resolves to {ip}, a private or reserved address; only public "
                                 "addresses can be called.", permanent=True)


def http_send(*, method, url, headers=None, body=None, timeout=10):
    """Sends one request and returns its answer (any status). Raises TransportError when there is
    no answer. Never follows redirects: a 3xx is returned as the answer."""
    address_check(url)
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    data = body.encode() if isinstance(body, str) else body
    started = time.monotonic()
    try:
        with _session.request(method, url, headers=headers, data=data, allow_redirects=False, stream=True,
                              timeout=(min(5, timeout), timeout)) as response:
            raw = response.raw.read(READ_LIMIT, decode_content=True) or b""
            ms = int((time.monotonic() - started) * 1000)
            text = raw.decode(response.encoding or "utf-8", errors="replace")
            return HttpAnswer(status=response.status_code, body=text, ms=ms, headers=dict(response.headers))
    except requests.Timeout:
        raise TransportError(f"No answer within {timeout} s.") from None
    except requests.exceptions.InvalidURL as exc:
        raise TransportError(f"Invalid URL: {exc}", permanent=True) from None
    except (requests.exceptions.InvalidHeader, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema) as exc:
        raise TransportError(str(exc), permanent=True) from None
    except requests.ConnectionError as exc:
        raise TransportError(f"Connection failed: {_reason(exc)}") from None
    except requests.RequestException as exc:
        raise TransportError(f"Request failed: {_reason(exc)}") from None


def _reason(exc):
    """The innermost, readable cause of a requests error (urllib3 nests them deeply)."""
    cause = exc
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    return truncate(str(cause or exc), 300)
