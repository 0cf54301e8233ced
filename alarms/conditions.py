"""Conditions and confirmations of a rule: their shapes (validated once, for the API and the
form alike) and how a value is tested against them. Pure functions, no database."""
import json
import numbers
from typing import Any

from platform.payloads import typed_value

OPS = {
    "gt": "greater than", "gte": "greater than or equal to", "lt": "less than", "lte": "less than or equal to",
    "eq": "equal to", "ne": "not equal to", "between": "between (inclusive)", "outside": "outside",
    "present": "present", "absent": "absent",
}
NUMERIC = {"gt", "gte", "lt", "lte", "between", "outside"}
RANGE = {"between", "outside"}
NO_VALUE = {"present", "absent"}
CONFIRMS = ("immediate", "sequence", "timespan")
MISSING = object()


class ConditionError(ValueError):
    """A condition or confirmation that cannot be evaluated: `messages` says what to fix, one
    "path: message" per independent problem (str() joins them)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def condition_clean(condition: Any, where: str = "condition") -> dict[str, Any]:
    """The condition as stored: {"op", "value"?, "max"?}; ConditionError with every problem that
    does not follow from another (a bad value and a missing max both; "max below value" only
    once both are numbers; nothing else while the op is unknown)."""
    if not isinstance(condition, dict):
        raise ConditionError(f"{where}: give an object such as {{\"op\": \"gt\", \"value\": 30}}.")
    op = condition.get("op")
    if op not in OPS:
        raise ConditionError(f"{where}.op: use one of {', '.join(OPS)}.")
    problems = []
    # A setting the op does not read would be dropped, and the client believe it in force.
    if op in NO_VALUE and condition.get("value") is not None:
        problems.append(f"{where}.value: '{op}' only checks whether the field is there; it takes no value: "
                        "remove it.")
    if op not in RANGE and condition.get("max") is not None:
        problems.append(f"{where}.max: only between and outside take a max; remove it, or use one of those.")
    if op in NO_VALUE:
        if problems:
            raise ConditionError(*problems)
        return {"op": op}
    value: Any = condition.get("value")
    if "value" not in condition:
        problems.append(f"{where}.value: '{op}' needs a value to compare with.")
    elif op in NUMERIC and not _number(value):
        problems.append(f"{where}.value: '{op}' compares numbers; give a number, e.g. 30.")
    high: Any = condition.get("max")
    if op in RANGE:
        if not _number(high):
            problems.append(f"{where}.max: '{op}' needs a numeric max, e.g. {{\"value\": 20, \"max\": 30}}.")
        elif _number(value) and high < value:
            problems.append(f"{where}.max: must not be below value ({value}).")
    if problems:
        raise ConditionError(*problems)
    return {"op": op, "value": value, "max": high} if op in RANGE else {"op": op, "value": value}


def confirm_clean(confirm: Any) -> dict[str, Any]:
    """{"type": "immediate"} | {"type": "sequence", "count": N>=1} | {"type": "timespan", "seconds": S>=1}."""
    if confirm is None:
        return {"type": "immediate"}
    if not isinstance(confirm, dict) or confirm.get("type") not in CONFIRMS:
        raise ConditionError("confirm.type: use immediate, sequence or timespan.")
    kind = confirm["type"]
    if kind == "sequence":
        count = confirm.get("count")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
            raise ConditionError("confirm.count: a whole number of consecutive matches from 1 to 1000, e.g. 3.")
        return {"type": kind, "count": count}
    if kind == "timespan":
        seconds = confirm.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 1 <= seconds <= 7 * 86400:
            raise ConditionError("confirm.seconds: a whole number of seconds from 1 to 604800, e.g. 300.")
        return {"type": kind, "seconds": seconds}
    return {"type": kind}


def holds(condition: dict[str, Any], value: Any) -> bool:
    """Whether `value` (MISSING when the field is absent) satisfies the condition. Numeric ops
    never hold for a value that is not a number: a sensor sending "error" is not "above 30"."""
    op = condition["op"]
    if op == "present":
        return value is not MISSING and value is not None
    if op == "absent":
        return value is MISSING or value is None
    if value is MISSING:
        return False
    if op == "eq":
        return value == condition["value"]
    if op == "ne":
        return value != condition["value"]
    if not _number(value):
        return False
    bound = condition["value"]
    if op == "gt":
        return value > bound
    if op == "gte":
        return value >= bound
    if op == "lt":
        return value < bound
    if op == "lte":
        return value <= bound
    inside = bound <= value <= condition["max"]
    return inside if op == "between" else not inside


def field_value(data: Any, path: str) -> Any:
    """`a.b.0` looked up in nested objects and arrays; the whole value for an empty path; MISSING
    when absent."""
    value = data
    for key in path.split(".") if path else ():
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return MISSING
    return value


def describe(condition: dict[str, Any] | None) -> str:
    """"> 30", "between 20 and 30", "present": for pages and e-mails."""
    if not condition:
        return ""
    op = condition["op"]
    symbols = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "eq": "=", "ne": "≠"}
    if op in symbols:
        return f"{symbols[op]} {json.dumps(condition['value'])}"
    if op in RANGE:
        return f"{op} {condition['value']} and {condition['max']}"
    return op


def parse_value(text: str | None) -> Any:
    """A value typed in a form: JSON if it parses (30, true, "on", null), else the text itself.
    JSON the rule could not be stored with (NaN, 1e999, a NUL, nesting too deep) raises
    PayloadError, saying what to fix."""
    text = (text or "").strip()
    return typed_value(text) if text else None
