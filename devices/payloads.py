"""What a device may send: one JSON object, or a non-empty array of objects."""
import json
import time


class PayloadError(ValueError):
    pass


def payload_parse(body: bytes):
    if not body.strip():
        raise PayloadError("Empty body: send a JSON object or an array of objects.")
    try:
        payload = json.loads(body)
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
            raise PayloadError(f"Bad 'ts' in {where}: use epoch milliseconds as a number.")
    return payload


def payload_records(payload, received_ms):
    """The (index, ts, val) records of a message: one per object; `ts` sets the time and is not
    kept in the value."""
    items = payload if isinstance(payload, list) else [payload]
    records = []
    for index, item in enumerate(items):
        val = dict(item)
        ts = val.pop("ts", None)
        records.append((index, int(ts) if ts is not None else received_ms, val))
    return records


def now_ms():
    return int(time.time() * 1000)
