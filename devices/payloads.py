"""The body rules live in platform.payloads (shared with bucket writes); these names stay
importable from here for the device modules."""
from platform.payloads import PayloadError, json_check, ms, now_ms, payload_parse, payload_records  # noqa: F401
