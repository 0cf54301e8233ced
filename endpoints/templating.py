"""Placeholders in what is sent out.

Endpoints (Thinger, docs/devices.md) use `{{...}}`: `{{payload}}`, `{{a.b}}` or `{{payload.a.b}}`,
`{{device}}`, `{{device_name}}`, `{{user}}`, `{{ts}}`. How a value is inserted depends on where:
in a body objects, arrays, numbers, booleans and null become JSON and strings JSON-escaped text
without quotes (so `"t": "{{a}}"` and `"t": {{n}}` both stay JSON); in a URL values are
percent-encoded; in a header a value with CR or LF is refused (no header injection).

Connections (ThingPark, docs/devices.md) use single braces in header values: `{DevEUI}`,
`{DeviceName}`, `{Time}`, `{CustomerID}`, `{payload.a.b}`.
"""
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

_DOUBLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_SINGLE = re.compile(r"\{(DevEUI|DeviceName|Time|CustomerID|payload(?:\.[^{}\s]+)?)\}")
_MISSING = object()


class TemplateError(ValueError):
    """A template that cannot be filled safely (e.g. a header value that would contain a newline)."""


def _field(payload: Any, path: str) -> Any:
    """`a.b.0.c` looked up in nested objects and arrays; _MISSING when absent."""
    value = payload
    for key in path.split(".") if path else []:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isascii() and key.isdigit() and int(key) < len(value):  # not "²"
            value = value[int(key)]
        else:
            return _MISSING
    return value


def _lookup(name: str, context: dict[str, Any]) -> Any:
    if name in ("device", "device_name", "user", "ts"):
        return context.get(name, _MISSING)
    if name == "payload":
        return context.get("payload")
    path = name.removeprefix("payload.")
    return _field(context.get("payload"), path)


def _as_text(value: Any) -> str:
    """A value as plain text: strings as they are, everything else as JSON."""
    if value is _MISSING:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def render_body(template: str, context: dict[str, Any]) -> str:
    def insert(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), context)
        if value is _MISSING:
            value = None
        if isinstance(value, str):
            return json.dumps(value)[1:-1]
        return json.dumps(value, separators=(",", ":"))

    return _DOUBLE.sub(insert, template)


def render_url(template: str, context: dict[str, Any]) -> str:
    return _DOUBLE.sub(lambda m: quote(_as_text(_lookup(m.group(1), context)), safe=""), template)


def _header_checked(name: str, value: str) -> str:
    # Spaces around a header's value are not part of it (HTTP strips them), and a value that starts
    # with one cannot be sent at all: "{{device_name}} {{payload.lat}}" with no name failed the call.
    value = value.strip(" \t")
    if "\r" in value or "\n" in value:
        raise TemplateError(f"Header {name!r} would contain a line break; it was not sent.")
    if "\x00" in value:
        raise TemplateError(f"Header {name!r} would contain a NUL character; it was not sent.")
    # Any other character is fine ("東京" goes out as its UTF-8); the transport's headers_check
    # refuses the remaining control characters.
    return value


def render_headers(headers: dict[str, Any] | None, context: dict[str, Any]) -> dict[str, str]:
    """Endpoint headers with `{{...}}` filled; TemplateError if a value holds CR or LF."""
    return {name: _header_checked(name, _DOUBLE.sub(lambda m: _as_text(_lookup(m.group(1), context)), str(value)))
            for name, value in (headers or {}).items()}


def iso_time(ts_ms: int) -> str:
    """Epoch milliseconds as ISO 8601 in UTC with milliseconds, as ThingPark writes `Time`."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def render_thingpark_headers(headers: dict[str, Any] | None, *, device: str, device_name: str, customer: str, ts: int,
                             payload: Any) -> dict[str, str]:
    """Connection headers with `{DevEUI}`, `{DeviceName}`, `{Time}`, `{CustomerID}` and
    `{payload.a.b}` filled; other braces are left as they are."""
    values = {"DevEUI": device, "DeviceName": device_name, "Time": iso_time(ts), "CustomerID": customer}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("payload"):
            return _as_text(_field(payload, name[len("payload."):]) if "." in name else payload)
        return values[name]

    return {name: _header_checked(name, _SINGLE.sub(fill, str(value))) for name, value in (headers or {}).items()}
