"""The only code that makes outbound HTTP.

Every request goes through `http_send`: one session, connect and read timeouts, no redirects
followed, the response read up to a cap, and private, loopback, link-local and reserved addresses
refused on the resolved address (unless `ENDPOINTS_ALLOW_PRIVATE_IPS`), so a user cannot point an
endpoint at the platform's own network. Failures are one typed error, `TransportError`, whose
`permanent` flag says whether retrying can help.

Two clients, one set of rules: `http_send` (requests, blocking) for a person's "Send test" and
the `/call` API, and `AsyncTransport` (aiohttp) for the delivery engine, which keeps many requests
in flight from one thread with a keep-alive pool per destination. Both send a header's value as
its UTF-8 bytes (a receiver sees the same bytes whichever path sent it), and both refuse, through
`headers_check`, the headers that would break the request (line breaks, Content-Length...).

No DNS-rebinding window: when the guard is on, the connection goes to the very address that was
checked (`_PinnedAdapter`), never to a second lookup of the name, which a hostile DNS server
could answer with a private address. The request still carries the name in its Host header, and
for https the name is sent as SNI and the certificate is verified against it.
"""
import asyncio
import ipaddress
import re
import socket
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Any
from urllib.parse import SplitResult, urlsplit

import aiohttp
import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from platform.validators import PLATFORM_HEADERS, platform_header_message

USER_AGENT = "http-devices/1.0 (+endpoints)"
# How much of an answer is read at all, and how much of it a log row keeps.
READ_LIMIT = 64 * 1024
LOG_LIMIT = 2000



class _PinnedAdapter(HTTPAdapter):
    """Dials `request.pinned_ip` (set by http_send to an address the guard accepted) instead of
    resolving the URL's host again. The connection pool is keyed by that address, the TLS server
    name and the hostname checked on the certificate, so a pooled keep-alive connection is only
    reused for the same checked address and name."""

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: bool | str | None,
                                        proxies: Any = None, cert: Any = None) -> Any:
        pinned = getattr(request, "pinned_ip", None)
        if pinned is None:
            return super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        try:
            # The stubs let this method's `verify` be None but not the one it is passed on to.
            host_params, pool_kwargs = self.build_connection_pool_key_attributes(
                request, verify, cert)  # type: ignore[arg-type]
        except ValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from None
        kwargs: dict[str, object] = dict(pool_kwargs)
        if host_params["scheme"] == "https":
            kwargs.update(server_hostname=host_params["host"], assert_hostname=host_params["host"])
        return self.poolmanager.connection_from_host(**{**host_params, "host": pinned}, pool_kwargs=kwargs)


_session = requests.Session()
# Proxies from the environment would bypass the address guard.
_session.trust_env = False
_session.mount("http://", _PinnedAdapter())
_session.mount("https://", _PinnedAdapter())


class TransportError(Exception):
    """A request that got no HTTP answer. `permanent`: retrying the same request cannot succeed
    (a refused address, a malformed URL); otherwise it may (timeout, refused connection, DNS)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class HttpAnswer:
    status: int
    body: str
    ms: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def truncate(text: str | None, limit: int = LOG_LIMIT) -> str:
    """Text cut for a log row, saying that it was cut."""
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def body_text(raw: bytes, charset: str | None) -> str:
    """An answer's body as text for the log, in its declared charset; one Python does not know (or
    cannot decode with replacement) reads as UTF-8."""
    try:
        return raw.decode(charset or "utf-8", "replace")
    except (LookupError, UnicodeError, ValueError):
        return raw.decode("utf-8", "replace")


def unreadable(exc: BaseException) -> str:
    """The logged body of an answer whose status came but whose body could not be read as sent (not
    the gzip it claims, shorter than its Content-Length, cut off by the timeout). The status alone
    decides the outcome: a 2xx was received, and sending it again would deliver it twice."""
    return f"[the answer's body could not be read: {truncate(str(exc) or type(exc).__name__, 300)}]"


# IPv6 prefixes whose addresses carry an IPv4 address inside (RFC 6052 NAT64 and RFC 4291's
# IPv4-compatible form). A gateway or tunnel may turn such an address into its IPv4 one, so the
# embedded address must be public too, whatever Python's flags say about the IPv6 address itself.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _rfc6052_candidates(value: int) -> list[IPv4Address]:
    """The IPv4 addresses a 64:ff9b:1::/48 address may carry: RFC 6052 places it after a /48,
    /56, /64 or /96 prefix (skipping bits 64-71), and the address does not say which was used."""
    octets = value.to_bytes(16, "big")
    spans = (octets[6:8] + octets[9:11], octets[7:8] + octets[9:12], octets[9:13], octets[12:16])
    return [ipaddress.IPv4Address(span) for span in spans]


def embedded_ipv4(ip: IPv4Address | IPv6Address) -> list[IPv4Address]:
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


def _not_public(ip: IPv4Address | IPv6Address) -> bool:
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast
            or ip.is_unspecified or not ip.is_global)


def _address_refused(ip: IPv4Address | IPv6Address) -> bool:
    """One rule for every address: refused when it, or any IPv4 address it embeds, is not public.
    An IPv4-mapped address is the IPv4 address itself (the socket dials that), so only the
    embedded one is judged; every other form is judged both ways."""
    embedded = embedded_ipv4(ip)
    if ip.version == 6 and ip.ipv4_mapped:
        return _not_public(ip.ipv4_mapped)
    return _not_public(ip) or any(_not_public(inner) for inner in embedded)


def address_check(url: str) -> list[str] | None:
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
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])  # an int only for AF_UNIX, never asked
        if _address_refused(ip):
            raise TransportError(f"{host} resolves to {ip}, a private or reserved address; only public "
                                 "addresses can be called (a self-hoster allows them with "
                                 "ENDPOINTS_ALLOW_PRIVATE_IPS=true).", permanent=True)
        if str(ip) not in checked:
            checked.append(str(ip))
    return checked


def _not_connected(exc: Exception) -> bool:
    """True when no connection was made at all (refused, unreachable, connect timeout): nothing
    was sent, so the next checked address may be tried, as a resolver-driven connect would."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def http_send(*, method: str, url: str, headers: dict[str, str] | None = None, body: str | bytes | None = None,
              timeout: float = 10) -> HttpAnswer:
    """Sends one request and returns its answer (any status). Raises TransportError when there is
    no answer. Never follows redirects: a 3xx is returned as the answer."""
    addresses = address_check(url)
    # http.client sends a str value as Latin-1, aiohttp as UTF-8: "café" went out as two different
    # byte strings. Bytes go out as they are, so both clients send the UTF-8 of the same value.
    encoded = {name: value.encode() for name, value in headers_check(dict(headers or {})).items()}
    sent: dict[str, str | bytes] = {"User-Agent": USER_AGENT, **encoded}
    data = body.encode() if isinstance(body, str) else body
    started = time.monotonic()
    try:
        prepared = _session.prepare_request(requests.Request(method, url, headers=sent, data=data))
        if addresses and "Host" not in prepared.headers:
            # The Host header names the site, not the address dialled (urllib3 would use the pool's);
            # one the endpoint sets (a name-based virtual host) is kept, as aiohttp keeps it.
            prepared.headers["Host"] = urlsplit(prepared.url or url).netloc.rpartition("@")[2]
        for index, address in enumerate(addresses or [None]):
            prepared.pinned_ip = address  # type: ignore[attr-defined]  # our own attribute, read by _PinnedAdapter
            try:
                response = _session.send(prepared, allow_redirects=False, stream=True,
                                         timeout=(min(5, timeout), timeout))
            except requests.RequestException as exc:
                if addresses and index + 1 < len(addresses) and _not_connected(exc):
                    continue
                raise
            with response:
                try:
                    text = body_text(response.raw.read(READ_LIMIT, decode_content=True) or b"", response.encoding)
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    text = unreadable(exc)
                ms = int((time.monotonic() - started) * 1000)
                return HttpAnswer(status=response.status_code, body=text, ms=ms, headers=dict(response.headers))
        raise TransportError("No address to connect to.")  # not reached: the last address answers or raises
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


# RFC 9110 token characters for a header name.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# A control character other than tab. One regex search instead of a Python test per character:
# the check runs on every header of every delivery (README, "Intake levers").
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def headers_check(headers: dict[str, str]) -> dict[str, str]:
    """Refuses headers that cannot be sent as configured (a name that is not a token or is one the
    client sets itself, a value with a control character or that is not Unicode text) with a
    TransportError that says which and why; it is permanent, since the same configuration and
    message make the same header again. Values go out as UTF-8 whatever the client (http_send).
    The header rule (platform.validators) refuses these when saved; this holds for rows saved
    before it did and for values filled in from a message."""
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise TransportError(f"Header name {name[:100]!r} is not a valid HTTP header name.", permanent=True)
        reason = PLATFORM_HEADERS.get(name.lower())
        if reason:
            raise TransportError(f"{platform_header_message(name, reason)} It was not sent.", permanent=True)
        control = _CONTROL.search(value)
        if control:
            raise TransportError(f"Header {name!r} would contain a control character ({control.group()!r} at "
                                 f"position {control.start()}); it was not sent. Take line breaks and other control "
                                 "characters out of the header's value, or out of what its template fills in.",
                                 permanent=True)
        try:
            value.encode()
        except UnicodeEncodeError:  # an unpaired surrogate: not text any client can encode
            raise TransportError(f"Header {name!r} is not valid Unicode text ({ascii(value)[:60]}); it was not "
                                 "sent.", permanent=True) from None
    return headers


class _GuardResolver(aiohttp.abc.AbstractResolver):
    """aiohttp asks this for the addresses to dial: the ones `address_check` accepted for the URL
    just before the request (so no second lookup a hostile DNS server could answer differently)."""

    def __init__(self) -> None:
        self.checked: dict[tuple[str | None, int], list[str]] = {}

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        addresses = self.checked.get((host, port))
        if addresses is None:  # guard off: resolve as usual
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = [info[4][0] for info in infos]
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET6 if ":" in address
                 else socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST} for address in addresses]

    async def close(self) -> None:
        pass


class AsyncTransport:
    """The delivery engine's client: `await send(...)` has http_send's rules (guard on the resolved
    address, pinned; no redirects; timeouts; the answer read up to READ_LIMIT) and returns an
    HttpAnswer or raises TransportError. Create and use it inside one event loop."""

    # How long a URL host's checked addresses are reused (aiohttp's own DNS cache keeps names as
    # long). A check is a thread-pool hop and a DNS lookup: per request it was a quarter of the
    # sender's CPU (py-spy on tests/perf/bench_deliveries.py). The connection still goes only to
    # the checked addresses, pinned by the resolver below.
    CHECK_SECONDS = 10.0

    def __init__(self, *, limit: int = 256) -> None:
        self.checks: dict[str, tuple[float, list[str] | None]] = {}
        self.resolver = _GuardResolver()
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit, resolver=self.resolver,
                                           use_dns_cache=False, enable_cleanup_closed=True),
            headers={"User-Agent": USER_AGENT}, trust_env=False, auto_decompress=True)

    async def send(self, *, method: str, url: str, headers: dict[str, str] | None = None,
                   body: str | bytes | None = None, timeout: float = 10) -> HttpAnswer:
        parts = urlsplit(url)
        addresses = await self._checked(parts)
        if addresses is not None:
            self.resolver.checked[(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))] = addresses
        data = body.encode() if isinstance(body, str) else body
        started = time.monotonic()
        try:
            async with self.session.request(
                    method, url, headers=headers_check(dict(headers or {})), data=data, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=min(5, timeout))) as response:
                try:
                    text = body_text(await response.content.read(READ_LIMIT), response.charset)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    text = unreadable(exc)
                ms = int((time.monotonic() - started) * 1000)
                return HttpAnswer(status=response.status, body=text, ms=ms, headers=dict(response.headers))
        except TimeoutError:
            raise TransportError(f"No answer within {timeout} s.") from None
        except aiohttp.InvalidURL as exc:
            raise TransportError(f"Invalid URL: {exc}", permanent=True) from None
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"Connection failed: {truncate(str(exc.os_error or exc), 300)}") from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"Request failed: {truncate(str(exc) or type(exc).__name__, 300)}") from None
        except (ValueError, LookupError, UnicodeError) as exc:  # aiohttp refusing what we gave it
            raise TransportError(f"The request cannot be sent as configured: {truncate(str(exc), 300)}",
                                 permanent=True) from None

    async def _checked(self, parts: SplitResult) -> list[str] | None:
        """address_check of the URL's scheme, host and port, reused for CHECK_SECONDS."""
        key, now = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}", time.monotonic()
        found = self.checks.get(key)
        if found is not None and found[0] > now:
            return found[1]
        addresses = await asyncio.get_running_loop().run_in_executor(None, address_check, parts.geturl())
        if len(self.checks) > 10_000:  # many hosts: start over rather than grow
            self.checks.clear()
        self.checks[key] = (now + self.CHECK_SECONDS, addresses)
        return addresses

    async def close(self) -> None:
        await self.session.close()


def _reason(exc: BaseException) -> str:
    """The innermost, readable cause of a requests error (urllib3 nests them deeply)."""
    cause = exc
    while cause.__context__ is not None and cause.__context__ is not cause:
        cause = cause.__context__
    return truncate(str(cause or exc), 300)
