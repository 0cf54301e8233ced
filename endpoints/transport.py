"""The only code that makes outbound HTTP.

Every request goes through `http_send`: one session, connect and read timeouts, no redirects
followed, the response read up to a cap, and private, loopback, link-local and reserved addresses
refused on the resolved address (unless `ENDPOINTS_ALLOW_PRIVATE_IPS`), so a user cannot point an
endpoint at the platform's own network. Failures are one typed error, `TransportError`, whose
`permanent` flag says whether retrying can help.

No DNS-rebinding window: when the guard is on, the connection goes to the very address that was
checked (`_PinnedAdapter`), never to a second lookup of the name, which a hostile DNS server
could answer with a private address. The request still carries the name in its Host header, and
for https the name is sent as SNI and the certificate is verified against it.
"""
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

USER_AGENT = "http-devices/1.0 (+endpoints)"
# How much of an answer is read at all, and how much of it a log row keeps.
READ_LIMIT = 64 * 1024
LOG_LIMIT = 2000



class _PinnedAdapter(HTTPAdapter):
    """Dials `request.pinned_ip` (set by http_send to an address the guard accepted) instead of
    resolving the URL's host again. The connection pool is keyed by that address, the TLS server
    name and the hostname checked on the certificate, so a pooled keep-alive connection is only
    reused for the same checked address and name."""

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        pinned = getattr(request, "pinned_ip", None)
        if pinned is None:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        try:
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        except ValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from None
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": host_params["host"],
                           "assert_hostname": host_params["host"]}
        return self.poolmanager.connection_from_host(**{**host_params, "host": pinned}, pool_kwargs=pool_kwargs)


_session = requests.Session()
# Proxies from the environment would bypass the address guard.
_session.trust_env = False
_session.mount("http://", _PinnedAdapter())
_session.mount("https://", _PinnedAdapter())


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


# IPv6 prefixes whose addresses carry an IPv4 address inside (RFC 6052 NAT64 and RFC 4291's
# IPv4-compatible form). A gateway or tunnel may turn such an address into its IPv4 one, so the
# embedded address must be public too, whatever Python's flags say about the IPv6 address itself.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _rfc6052_candidates(value):
    """The IPv4 addresses a 64:ff9b:1::/48 address may carry: RFC 6052 places it after a /48,
    /56, /64 or /96 prefix (skipping bits 64-71), and the address does not say which was used."""
    octets = value.to_bytes(16, "big")
    spans = (octets[6:8] + octets[9:11], octets[7:8] + octets[9:12], octets[9:13], octets[12:16])
    return [ipaddress.IPv4Address(span) for span in spans]


def embedded_ipv4(ip):
    """Every IPv4 address an IPv6 address embeds: IPv4-mapped, IPv4-compatible, 6to4 (2002::/16),
    NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and both Teredo fields (2001::/32; Python decodes the
    client's obfuscated address). Empty for an IPv4 address or a plain IPv6 one."""
    if ip.version != 6:
        return []
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE or ip in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:
        found.extend(_rfc6052_candidates(int(ip)))
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    return found


def _not_public(ip):
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or not ip.is_global)


def _address_refused(ip):
    """One rule for every address: refused when it, or any IPv4 address it embeds, is not public.
    An IPv4-mapped address is the IPv4 address itself (the socket dials that), so only the
    embedded one is judged; every other form is judged both ways."""
    embedded = embedded_ipv4(ip)
    if ip.version == 6 and ip.ipv4_mapped:
        return _not_public(ip.ipv4_mapped)
    return _not_public(ip) or any(_not_public(inner) for inner in embedded)


def address_check(url):
    """Refuses a URL whose host resolves to any non-public address. Every resolved address is
    checked, so a name with one public and one private record is refused too. Returns the checked
    addresses in resolver order (the ones to connect to), or None when the guard is off."""
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
        return None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"Cannot resolve {host}: {exc}") from None
    checked = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if _address_refused(ip):
            raise TransportError(f"{host} resolves to {ip}, a private or reserved address; only public "
                                 "addresses can be called.", permanent=True)
        if str(ip) not in checked:
            checked.append(str(ip))
    return checked


def _not_connected(exc):
    """True when no connection was made at all (refused, unreachable, connect timeout): nothing
    was sent, so the next checked address may be tried, as a resolver-driven connect would."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def http_send(*, method, url, headers=None, body=None, timeout=10):
    """Sends one request and returns its answer (any status). Raises TransportError when there is
    no answer. Never follows redirects: a 3xx is returned as the answer."""
    addresses = address_check(url)
    headers = {"User-Agent": USER_AGENT, **(headers or {})}
    data = body.encode() if isinstance(body, str) else body
    started = time.monotonic()
    try:
        prepared = _session.prepare_request(requests.Request(method, url, headers=headers, data=data))
        if addresses:
            # The Host header names the site, not the address dialled (urllib3 would use the pool's).
            prepared.headers["Host"] = urlsplit(prepared.url).netloc.rpartition("@")[2]
        for index, address in enumerate(addresses or [None]):
            prepared.pinned_ip = address
            try:
                response = _session.send(prepared, allow_redirects=False, stream=True,
                                         timeout=(min(5, timeout), timeout))
            except requests.RequestException as exc:
                if addresses and index + 1 < len(addresses) and _not_connected(exc):
                    continue
                raise
            with response:
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
