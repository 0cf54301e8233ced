"""What a client may write into a bucket: the device callback's body rules (one JSON object, or a
non-empty array of objects, an optional numeric `ts` in epoch ms). Buckets must not import
devices (DESIGN.md), so the few rules are repeated here; they are also a little stricter, because
values go into PostgreSQL's jsonb and are aggregated as double precision there."""
import json
import math


class PayloadError(ValueError):
    pass


# PostgreSQL aggregates numbers as double precision; a larger one would fail there, not here.
_MAX_NUMBER = 1e300


def _parse_float(text):
    value = float(text)
    if not math.isfinite(value) or abs(value) > _MAX_NUMBER:
        raise PayloadError(f"Number out of range: {text[:40]}.")
    return value


def _parse_int(text):
    if len(text) > 300:
        raise PayloadError(f"Number out of range: {text[:40]}...")
    return int(text)


def _parse_constant(name):
    raise PayloadError(f"{name} is not JSON: send numbers, strings, booleans, null, objects or arrays.")


def _check_text(value, where):
    # jsonb cannot store U+0000; refusing it here keeps it a 400 rather than a database error.
    if "\x00" in value:
        raise PayloadError(f"Text with a NUL character (\\u0000) in {where}: remove it.")


def _check_values(value, where):
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict):
            for key, nested in item.items():
                _check_text(key, where)
                stack.append(nested)
        elif isinstance(item, list):
            stack.extend(item)


def payload_parse(body: bytes):
    """The parsed body, or PayloadError saying what to fix."""
    if not body.strip():
        raise PayloadError("Empty body: send a JSON object or an array of objects.")
    try:
        payload = json.loads(body, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)
    except PayloadError:
        raise
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"Malformed JSON: {exc}.") from None
    items = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and not payload:
        raise PayloadError("Empty array: send at least one object.")
    for position, item in enumerate(items):
        where = f"element {position}" if isinstance(payload, list) else "the body"
        if not isinstance(item, dict):
            raise PayloadError(f"Expected a JSON object in {where}, got {type(item).__name__}.")
        if "ts" in item and (isinstance(item["ts"], bool) or not isinstance(item["ts"], (int, float))
                             or not 0 <= item["ts"] < 1e14):
            raise PayloadError(f"Bad 'ts' in {where}: use epoch milliseconds as a number (0 to 1e14).")
        _check_values(item, where)
    return payload


def payload_records(payload, received_ms):
    """The (index, ts, val) records of a body: one per object; `ts` sets the time and is not kept
    in the value (as for the device callback)."""
    items = payload if isinstance(payload, list) else [payload]
    records = []
    for index, item in enumerate(items):
        val = dict(item)
        ts = val.pop("ts", None)
        records.append((index, int(ts) if ts is not None else received_ms, val))
    return records
