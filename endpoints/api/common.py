"""JSON pieces both APIs share: times as epoch ms, the delivery and attempt log rows."""


def ms(value):
    return int(value.timestamp() * 1000) if value else None


def delivery_json(delivery):
    return {
        "id": delivery.pk,
        "message_id": delivery.message_id,
        "device": delivery.device_id or None,
        "ts": delivery.ts,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt": ms(delivery.next_attempt_at) if delivery.state == "pending" else None,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error or None,
        "created": ms(delivery.created),
        "delivered": ms(delivery.delivered_at),
    }


def attempt_json(attempt):
    return {
        "id": attempt.pk,
        "delivery": attempt.delivery_id,
        "message_id": attempt.delivery.message_id,
        "device": attempt.delivery.device_id or None,
        "state": attempt.delivery.state,
        "ts": ms(attempt.at),
        "url": attempt.url,
        "status": attempt.status_code,
        "ms": attempt.ms,
        "body": attempt.response_body,
        "error": attempt.error or None,
    }


def int_param(params, name, default, *, minimum=1, maximum=None):
    """A whole-number query parameter, clamped to `maximum`; ValueError naming it if malformed."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw[:20]!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}.")
    return min(value, maximum) if maximum else value
