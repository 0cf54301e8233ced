"""The JSON bodies of the contract: a device callback and a bucket write take one JSON object or
a non-empty array of objects, with an optional numeric `ts` in epoch milliseconds. One set of
rules for both, since a device's message ends up in a bucket too. Values are refused here, with
a message saying what to fix, when PostgreSQL's jsonb could not store them or could not
aggregate them as double precision, instead of failing later in the database."""
import json
import math
from typing import Any, NoReturn

MAX_DEPTH = 64
# Buckets aggregate numbers as double precision; a larger number would fail there, not here.
MAX_NUMBER = 1e300


class PayloadError(ValueError):
    pass


def _media_type(content_type: str | None) -> str:
    """A Content-Type without its parameters (`; charset=...`)."""
    return (content_type or "").split(";")[0].strip()


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (`application/json` or any `+json` type). Only the media
    type counts: a JSON body is UTF-8 (RFC 8259), so a declared charset is not read (see json_parse)."""
    media = _media_type(content_type).lower()
    return media == "application/json" or media.endswith("+json")


def not_json_message(content_type: str | None) -> str:
    """The 415's message, the same wherever a body must be JSON: what came (its media type), and
    what to send."""
    media = _media_type(content_type)
    return f"Unsupported content type {media or '(none)'!r}: send the body as JSON with 'Content-Type: application/json'."


def _too_deep(where: str) -> PayloadError:
    # One message whichever check meets the nesting first: the parser's recursion or json_check's walk.
    return PayloadError(f"JSON nested more than {MAX_DEPTH} levels deep in {where}: flatten it.")


class MalformedJson(PayloadError):
    """Not JSON at all, as opposed to JSON the platform cannot store."""


class BadNumber(PayloadError):
    """NaN, Infinity or a number out of range: Python's json reads them, jsonb cannot store them."""


def _no_constants(name: str) -> NoReturn:
    raise BadNumber(f"'{name}' is not JSON: send numbers only.")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise BadNumber(f"Number out of range: {text[:40]}.")
    return value


def _bounded_int(text: str) -> int:
    if len(text) > 300:
        raise BadNumber(f"Number out of range: {text[:40]}...")
    return int(text)


def json_check(value: Any, where: str = "the value") -> None:
    """Refuses what jsonb cannot store although Python's json accepts it (NUL characters,
    unpaired surrogates, infinite numbers). The depth cap keeps every later json.dumps far from
    Python's recursion limit."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(where)
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise PayloadError(f"Number out of range in {where}.")
        elif isinstance(item, str):
            if "\x00" in item:
                raise PayloadError(f"NUL character (\\u0000) in a string in {where}: remove it.")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise PayloadError(f"Unpaired UTF-16 surrogate in a string in {where}: send valid Unicode.") from None


def json_parse(body: str | bytes, where: str = "the body") -> Any:
    """Any JSON value, parsed strictly (see json_check), or PayloadError saying what to fix.

    Give a body as the bytes received: json decodes them as UTF-8 (or UTF-16/32, told apart by
    their zero bytes, as RFC 8259's predecessors allowed), whatever charset the request declares.
    Every JSON body of the platform (the device callback, the API, the downlink URL) is read so."""
    try:
        value = json.loads(body, parse_constant=_no_constants, parse_float=_finite_float, parse_int=_bounded_int)
    except PayloadError:
        raise
    except RecursionError:
        raise _too_deep(where) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedJson(f"Malformed JSON: {exc}.") from None
    if _may_need_check(body):
        json_check(value, where)
    return value


def typed_value(text: str) -> Any:
    """A value a person typed into a form: JSON if it parses (30, true, "on", null), else the text
    itself, as someone typing on means "on". PayloadError for JSON the database could not hold
    (NaN, 1e999, an integer of more than 300 digits, a NUL, nesting too deep) and for text with a NUL."""
    try:
        return json_parse(text, where="the value")
    except MalformedJson:
        json_check(text, "the value")
        return text
    except BadNumber as exc:
        if len(text) > 40:
            raise
        raise BadNumber(f"{exc} To mean the text, type it in double quotes: {json.dumps(text)}.") from None


def _may_need_check(body: str | bytes) -> bool:
    """False when the text alone shows json_check would pass, so the walk is skipped (most
    callbacks). In ASCII text without NUL bytes (so neither UTF-16 nor UTF-32, nor a raw
    surrogate), a NUL or an unpaired surrogate can only come from a \\u escape, since strict
    parsing refuses raw control characters; numbers were checked while parsing; and nesting is at
    most the number of brackets."""
    if isinstance(body, bytes):
        return (not body.isascii() or b"\\u" in body or b"\x00" in body
                or body.count(b"[") + body.count(b"{") > MAX_DEPTH)
    return not body.isascii() or "\\u" in body or body.count("[") + body.count("{") > MAX_DEPTH


def payload_parse(body: bytes) -> dict[str, Any] | list[dict[str, Any]]:
    """The parsed body (an object or a non-empty array of objects), or PayloadError."""
    if not body.strip():
        raise PayloadError("Empty body: send a JSON object or an array of objects.")
    payload = json_parse(body)
    items = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and not payload:
        raise PayloadError("Empty array: send at least one object.")
    for position, item in enumerate(items):
        where = f"element {position}" if isinstance(payload, list) else "the body"
        if not isinstance(item, dict):
            raise PayloadError(f"Expected a JSON object in {where}, got {_json_type(item)}.")
        if "ts" in item and (isinstance(item["ts"], bool) or not isinstance(item["ts"], (int, float))
                             or not 0 <= item["ts"] < 1e14):
            raise PayloadError(f"Bad 'ts' in {where}: use epoch milliseconds as a number (0 to 1e14).")
    return payload


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), type(value).__name__)


def payload_records(payload: dict[str, Any] | list[dict[str, Any]],
                    received_ms: int) -> list[tuple[int, int, dict[str, Any]]]:
    """The (index, ts, val) records of a body: one per object; `ts` sets the time and is not
    kept in the value."""
    items = payload if isinstance(payload, list) else [payload]
    records = []
    for index, item in enumerate(items):
        val = dict(item)
        ts = val.pop("ts", None)
        records.append((index, int(ts) if ts is not None else received_ms, val))
    return records

