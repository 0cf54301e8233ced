"""Validators shared by the web forms, both APIs and the models' clean(): one rule per idea."""
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# Device, bucket, endpoint and property ids (docs/api.md): they appear in URLs, so keep them plain.
id_validator = RegexValidator(ID_PATTERN, "Use 1 to 64 letters, digits, '_' or '-'.")

# An HTTP header name is a token (RFC 9110): ASCII letters, digits and these marks, nothing else.
# Matched whole (fullmatch): a `$` would let a trailing newline through.
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}")
HEADER_VALUE_MAX = 4000
# The most headers an endpoint or an application sends: far more than any receiver needs, and well
# within what servers take with ours added (Apache refuses a request of more than 100). Checked
# before each header, so a body of thousands gets one short answer.
HEADERS_MAX = 50
URL_MAX = 2000
# A description is a note for people: long enough for a paragraph or two, not a place for data
# (a 900 KB one was accepted and shown on every list that has it).
DESCRIPTION_MAX = 2000
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")

# Headers the HTTP client writes itself, from the body it sends and the connection it keeps
# (lowercase name: why). One set by hand makes a malformed or desynchronised request: a short
# Content-Length leaves the rest of the body on the keep-alive connection, read as the next
# request; Transfer-Encoding: chunked goes out beside a Content-Length with an unchunked body.
# Host is not among them: overriding it is how a name-based virtual host is reached.
PLATFORM_HEADERS = {
    "content-length": "it frames the request's body",
    "transfer-encoding": "it frames the request's body",
    "trailer": "it frames the request's body",
    "connection": "it manages the connection",
    "keep-alive": "it manages the connection",
    "proxy-connection": "it manages the connection",
    "upgrade": "it manages the connection",
    "te": "it manages the connection",
    # With 100-continue one client holds the body back for the receiver's go-ahead, the other
    # sends it at once: the same endpoint would behave two ways.
    "expect": "it decides when the body is sent",
}


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored at all (PostgreSQL holds neither), or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate: send valid Unicode"
    return None


def header_problem(name: object, value: object) -> str | None:
    """What is wrong with one header (a template value is judged as written), or None: the one
    header rule of the forms, both APIs and the models (through header_problems). Values go out
    as UTF-8 (endpoints/transport.py), so any character can be sent but a control character, and a
    space around the value is dropped on the way. The headers that frame the request or manage
    its connection are the platform's own (PLATFORM_HEADERS)."""
    if name == "":
        return f"The header with value {value!r} needs a name."
    if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
        shown = ascii(name)[:60]
        return (f"{shown} is not a valid header name: use 1 to 128 ASCII letters, digits or "
                "!#$%&'*+.^_`|~- (no spaces, colons, line breaks or accents).")
    reason = PLATFORM_HEADERS.get(name.lower())
    if reason:
        return platform_header_message(name, reason)
    if not isinstance(value, str):
        return f"Header {name}: the value must be a string."
    if len(value) > HEADER_VALUE_MAX:
        return f"Header {name}: the value is longer than {HEADER_VALUE_MAX} characters."
    if "\r" in value or "\n" in value:
        return f"Header {name}: the value contains a line break."
    problem = text_problem(value)
    if problem:
        return f"Header {name}: the value {problem}."
    # What no HTTP client sends (the transport refuses it at every attempt): better refused now.
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        return f"Header {name}: the value contains a control character: remove it."
    if value != value.strip(" \t"):
        return f"Header {name}: the value starts or ends with a space or a tab: remove it."
    return None


def platform_header_message(name: str, reason: str) -> str:
    """Why a header of PLATFORM_HEADERS cannot be set: said alike when saved and when sent."""
    return f"Header {name}: the platform sets this header itself ({reason}); remove it."


def header_problems(headers: Iterable[tuple[object, object]]) -> dict[int, str]:
    """Every bad header of (name, value) pairs, by position, in header_problem's words: all of
    them, so that one answer lists everything to fix. The forms mark their rows with it; both APIs
    and the models report it through validate_headers."""
    problems = {}
    seen: dict[str, str] = {}  # lowercase name: as first written
    for position, (name, value) in enumerate(headers):
        problem = header_problem(name, value)
        if not problem and isinstance(name, str):
            # Header names ignore case: both would go out, and the receiver would read either.
            first = seen.get(name.lower())
            if first is None:
                seen[name.lower()] = name
            elif first == name:
                problem = f"Header {name}: given twice: keep one."
            else:
                problem = f"Header {name}: given twice ({first} is the same name; case does not count): keep one."
        if problem:
            problems[position] = problem
    return problems


def headers_count_problem(count: int) -> str | None:
    """Too many headers (HEADERS_MAX), or None: the forms, both APIs and the models."""
    if count > HEADERS_MAX:
        return f"Give at most {HEADERS_MAX} headers ({count} given)."
    return None


def validate_headers(headers: object, *, count: bool = True) -> None:
    """Raises ValidationError, one message per bad header (header_problems), unless `headers` is a
    {name: value} object of valid headers. Used by both APIs and the models. `count=False` leaves
    out HEADERS_MAX: the models check the whole row at every save, and a row saved before the limit
    must still take other changes (the forms, the APIs and the admin count headers being set)."""
    if not isinstance(headers, dict):
        raise ValidationError("Headers must be an object of names and values.")
    problem = headers_count_problem(len(headers)) if count else None
    if problem:
        raise ValidationError(problem)
    problems = header_problems(headers.items())
    if problems:
        raise ValidationError(list(problems.values()))


def url_problem(url: object) -> str | None:
    """What keeps a URL (which may hold `{{...}}` templates) from ever being called, or None:
    judged as the transport would read it, with each template standing for a plain word."""
    if not isinstance(url, str):
        return "The URL must be a string."
    if len(url) > URL_MAX:
        return f"The URL is longer than {URL_MAX} characters."
    problem = text_problem(url)
    if problem:
        return f"The URL {problem}."
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return "The URL contains spaces or control characters: percent-encode them."
    if not url.lower().startswith(("http://", "https://")):
        return "The URL must start with http:// or https:// (templates may follow)."
    filled = _TEMPLATE.sub("x", url)
    try:
        parts = urlsplit(filled)
        host = parts.hostname
        parts.port  # noqa: B018 - read for its ValueError on a port out of range or not a number
    except ValueError as exc:
        return f"The URL {ascii(url)[:100]} is not valid: {exc}."
    if not host:
        return f"The URL {ascii(url)[:100]} has no host."
    try:
        host.encode("idna")
    except UnicodeError:
        return f"The URL's host {ascii(host)[:100]} is not a valid name."
    return None


def validate_url(url: object) -> None:
    problem = url_problem(url)
    if problem:
        raise ValidationError(problem)
