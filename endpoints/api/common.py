"""What both APIs share that is not a body (those are in endpoints/serializers.py)."""
from platform.serializers import query_int


def int_param(params, name, default, *, minimum=1, maximum=None):
    """A whole-number query parameter, clamped to `maximum`; ValueError naming it if malformed."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = query_int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw[:20]!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}.")
    return min(value, maximum) if maximum else value
