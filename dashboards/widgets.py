"""The widget shape of docs/dashboards.md, checked and normalised in one place for the API, the web
forms and the services. A widget refers to the owner's buckets and devices by id; one that names
anything else (unknown, or another user's) is refused as "not found", so the answer reveals
nothing about other users."""
import re
from collections.abc import Callable, Collection
from typing import Any

from django.contrib.auth.models import User

from buckets.models import Bucket
from buckets.selectors import AGG_STEPS, AGG_TYPES
from devices.models import Device
from platform.payloads import PayloadError, json_check
from platform.validators import ID_PATTERN

TYPES = ("chart", "value", "gauge", "status", "map", "table", "property", "downlink")
RANGES = {"1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000,
          "30d": 30 * 86_400_000, "365d": 365 * 86_400_000}
COLUMNS, MAX_Y, MAX_H, MAX_WIDGETS, MAX_FIELDS, MAX_POINTS = 12, 500, 12, 50, 6, 2000
DEFAULT_SIZE = {"chart": (6, 4), "value": (3, 2), "gauge": (3, 3), "status": (3, 2), "map": (6, 4),
                "table": (6, 4), "property": (3, 2), "downlink": (3, 2)}
# The contract gives every widget one of three source shapes: a bucket's (bucket, fields, range,
# agg, agg_type), a property's (device, property, field) or a device's. A type takes its shape's
# keys even where it uses only some (a map has no agg; a status widget no property): those are
# checked and dropped. Any other key is refused, so a misspelt one is not silently ignored.
BUCKET_SOURCE = frozenset({"bucket", "fields", "range", "agg", "agg_type"})
DEVICE_SOURCE = frozenset({"device", "property", "field"})
SOURCE_KEYS = {
    "chart": BUCKET_SOURCE,
    "map": BUCKET_SOURCE,
    "table": BUCKET_SOURCE | {"items"},
    "value": BUCKET_SOURCE | DEVICE_SOURCE,
    "status": DEVICE_SOURCE,
    "property": DEVICE_SOURCE,
    "downlink": DEVICE_SOURCE,
}
SOURCE_KEYS["gauge"] = SOURCE_KEYS["value"]
OPTION_KEYS = {"unit", "decimals", "min", "max", "color"}
DOWNLINK_OPTION_KEYS = OPTION_KEYS | {"payload", "label"}
COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")


# A cleaned widget as the dashboard stores it (docs/dashboards.md): id, type, title, layout, source,
# options; a layout is {"x", "y", "w", "h"}. Raw input is any JSON, checked here.
Widget = dict[str, Any]
Layout = dict[str, Any]


class WidgetError(ValueError):
    """What is wrong, and where: `path` is like "source.bucket" inside the widget. `problems` is
    every (path, message) found, the first being `path` and `message`: a form shows them all
    beside their inputs after one submit, instead of one per round."""

    def __init__(self, path: str, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.path, self.message = path, message
        self.problems = problems or [(path, message)]

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> "WidgetError":
        return cls(*problems[0], problems=problems)


class _Problems:
    """The mistakes found so far, the first for each path. Checks that do not depend on one another
    (the bucket, the decimals, the colour) each run, so one answer names every mistake."""

    def __init__(self) -> None:
        self.found: dict[str, str] = {}

    def take(self, check: Callable[..., Any], *args: Any, default: Any = None) -> Any:
        """check(*args), or `default` when it raises WidgetError (kept, to raise with the others)."""
        try:
            return check(*args)
        except WidgetError as exc:
            for path, message in exc.problems:
                self.found.setdefault(path, message)
            return default

    def raise_any(self) -> None:
        if self.found:
            raise WidgetError.of(list(self.found.items()))


def _object(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WidgetError(path, "Give an object.")
    return value


def _known(data: dict[str, Any], allowed: Collection[str], path: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise WidgetError(path, f"Unknown key {', '.join(unknown)}: use {', '.join(sorted(allowed))}.")


def _int(data: dict[str, Any], key: str, path: str, low: int, high: int, default: int | None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise WidgetError(f"{path}.{key}".lstrip("."), f"Give a whole number from {low} to {high}.")
    return value


def _number(data: dict[str, Any], key: str, path: str) -> int | float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or abs(value) > 1e15:
        raise WidgetError(f"{path}.{key}", "Give a number.")
    return value


def _name(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or any(ord(c) < 32 for c in value):
        raise WidgetError(path, f"Give the {what} as a non-empty string (at most 200 characters).")
    return value


def _id(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(ID_PATTERN, value):
        raise WidgetError(path, f"Give a {what} id: 1 to 64 letters, digits, '_' or '-'.")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None, path: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise WidgetError(f"{path}.{key}", f"{value!r} is not allowed; use one of {', '.join(choices)}.")
    return value


def _bucket(owner: User, data: dict[str, Any]) -> str:
    bucket_id = _id(data.get("bucket"), "source.bucket", "bucket")
    if not Bucket.objects.filter(owner=owner, bucket_id=bucket_id).exists():
        raise WidgetError("source.bucket", f"Bucket '{bucket_id}' not found: use one of your buckets.")
    return bucket_id


def _device(owner: User, data: dict[str, Any]) -> str:
    device_id = _id(data.get("device"), "source.device", "device")
    if not Device.objects.filter(owner=owner, device_id=device_id).exists():
        raise WidgetError("source.device", f"Device '{device_id}' not found: use one of your devices.")
    return device_id


def _fields(data: dict[str, Any], limit: int, path: str = "source.fields") -> list[str]:
    fields = data.get("fields", [])
    if not isinstance(fields, list) or len(fields) > limit:
        raise WidgetError(path, "Give one field, in a list: [\"temperature\"]." if limit == 1 else
                          f"Give a list of at most {limit} field names.")
    fields = [_name(f, path, "field") for f in fields]
    if len(set(fields)) != len(fields):
        raise WidgetError(path, "A field appears twice.")
    return fields


def _one_field(data: dict[str, Any]) -> str:
    """The field of a value or gauge over a bucket: "fields": [one] as docs/dashboards.md says, or
    "field": "one", the older spelling (still accepted; stored and answered as "fields")."""
    if data.get("field") is not None and "fields" not in data:
        return _name(data["field"], "source.field", "field")
    fields = _fields(data, 1)
    if len(fields) != 1:
        raise WidgetError("source.fields", "Give the one field to show, e.g. \"fields\": [\"temperature\"].")
    return fields[0]


def _shape_checked(data: dict[str, Any], problems: _Problems) -> None:
    """The keys of the contract's source shapes, checked the same way whether the type uses them or
    not (SOURCE_KEYS): a range of "2d" is refused on a value widget too."""
    if "range" in data:
        problems.take(_choice, data, "range", tuple(RANGES), None, "source")
    if data.get("agg", "auto") != "auto":
        problems.take(_choice, data, "agg", tuple(AGG_STEPS), None, "source")
    if "agg_type" in data:
        problems.take(_choice, data, "agg_type", AGG_TYPES, None, "source")
    if data.get("property") is not None:
        problems.take(_id, data["property"], "source.property", "property")
    if data.get("field") is not None:
        problems.take(_name, data["field"], "source.field", "field")


def _points_checked(range_: str, agg: str) -> None:
    points = RANGES[range_] // AGG_STEPS[agg]
    if points > MAX_POINTS:
        raise WidgetError("source.agg", f"{range_} by {agg} is {points} points, more than "
                                        f"{MAX_POINTS}: choose a longer interval or \"auto\".")


def _map_fields(data: dict[str, Any]) -> list[str]:
    fields = _fields(data, 2)
    if len(fields) not in (0, 2):
        raise WidgetError("source.fields", "Give the latitude and longitude fields, or none for lat/lon "
                                           "(or latitude/longitude).")
    return fields


def _source(owner: User, kind: str, data: Any, problems: _Problems) -> dict[str, Any]:
    """The checked source; what is wrong goes to `problems` (the values it spoils come back None)."""
    data = _object(data, "source")
    take = problems.take
    take(_known, data, SOURCE_KEYS[kind], "source")
    _shape_checked(data, problems)
    if kind in ("value", "gauge"):
        if "device" in data and "bucket" not in data:
            kind = "property"
        else:
            return {"bucket": take(_bucket, owner, data), "fields": [take(_one_field, data)]}
    if kind == "chart":
        source: dict[str, Any] = {
            "bucket": take(_bucket, owner, data), "fields": take(_fields, data, MAX_FIELDS),
            "range": take(_choice, data, "range", tuple(RANGES), "24h", "source"),
            "agg_type": take(_choice, data, "agg_type", AGG_TYPES, "mean", "source")}
        agg = data.get("agg", "auto")
        if agg != "auto":
            agg = take(_choice, data, "agg", tuple(AGG_STEPS), None, "source")
            if agg and source["range"]:  # the number of points needs both
                take(_points_checked, source["range"], agg)
        return {**source, "agg": agg}
    if kind == "map":
        fields = take(_map_fields, data)  # before the bucket: the first mistake named is the one it always was
        return {"bucket": take(_bucket, owner, data), "fields": fields,
                "range": take(_choice, data, "range", tuple(RANGES), "24h", "source")}
    if kind == "table":
        return {"bucket": take(_bucket, owner, data), "fields": take(_fields, data, 12),
                "items": take(_int, data, "items", "source", 1, 50, 10)}
    if kind == "property":
        source = {"device": take(_device, owner, data),
                  "property": take(_id, data.get("property"), "source.property", "property")}
        if data.get("field") is not None:
            source["field"] = take(_name, data["field"], "source.field", "field")
        return source
    return {"device": take(_device, owner, data)}


def _unit(data: dict[str, Any]) -> str:
    if not isinstance(data["unit"], str) or len(data["unit"]) > 16:
        raise WidgetError("options.unit", "Give the unit as a string of at most 16 characters.")
    return data["unit"]


def _color(data: dict[str, Any]) -> str:
    if not isinstance(data["color"], str) or not COLOR.match(data["color"]):
        raise WidgetError("options.color", "Give a colour as #rgb or #rrggbb, e.g. \"#d33\".")
    return data["color"]


def _payload(data: dict[str, Any]) -> Any:
    if "payload" not in data:
        raise WidgetError("options.payload", "Give the payload the button queues, e.g. {\"led\": \"on\"}.")
    try:
        json_check(data["payload"])
    except PayloadError as exc:
        raise WidgetError("options.payload", str(exc)) from None
    return data["payload"]


def _label(data: dict[str, Any]) -> str:
    label = data.get("label", "Send")
    if not isinstance(label, str) or not 1 <= len(label) <= 40:
        raise WidgetError("options.label", "Give the button's label, 1 to 40 characters.")
    return label


def _options(kind: str, data: Any, problems: _Problems) -> dict[str, Any]:
    """The checked options; what is wrong goes to `problems`."""
    data = _object(data, "options")
    take = problems.take
    take(_known, data, DOWNLINK_OPTION_KEYS if kind == "downlink" else OPTION_KEYS, "options")
    options: dict[str, Any] = {}
    if "unit" in data:
        options["unit"] = take(_unit, data)
    if "decimals" in data:
        options["decimals"] = take(_int, data, "decimals", "options", 0, 6, None)
    for key in ("min", "max"):
        if data.get(key) is not None:
            options[key] = take(_number, data, key, "options")
    if kind == "gauge":
        options.setdefault("min", 0)
        options.setdefault("max", 100)
    # Compared only when both are numbers: a wrong min is its own mistake, not also one of max.
    if isinstance(options.get("min"), (int, float)) and isinstance(options.get("max"), (int, float)) \
            and options["min"] >= options["max"]:
        take(_raise, "options.max", "max must be greater than min.")
    if data.get("color") is not None:
        options["color"] = take(_color, data)
    if kind == "downlink":
        options["payload"] = take(_payload, data)
        options["label"] = take(_label, data)
    return options


def _raise(path: str, message: str) -> None:
    raise WidgetError(path, message)


def _title(data: dict[str, Any]) -> str:
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > 100:
        raise WidgetError("title", "Give the title as a string of at most 100 characters.")
    return title


def _layout(layout: dict[str, Any], kind: str, problems: _Problems) -> Layout:
    take = problems.take
    take(_known, layout, {"x", "y", "w", "h"}, "layout")
    w, h = DEFAULT_SIZE[kind]
    w = take(_int, layout, "w", "layout", 1, COLUMNS, w, default=w)  # a wrong w: x is checked against the default
    h = take(_int, layout, "h", "layout", 1, MAX_H, h, default=h)
    x = take(_int, layout, "x", "layout", 0, COLUMNS - w, 0)
    y = None if layout.get("y") is None else take(_int, layout, "y", "layout", 0, MAX_Y, 0)
    return {"x": x, "y": y, "w": w, "h": h}


def widget_clean(*, owner: User, data: Any) -> Widget:
    """One widget, checked against `owner`'s objects and normalised (defaults filled, layout inside
    the grid). Raises WidgetError saying what is wrong: every mistake it can find (`problems`), as
    all but an unknown type (which decides the rest) can be checked apart. `id` and layout `y` may
    come back None: widgets_clean fills them."""
    if not isinstance(data, dict):
        raise WidgetError("", "Each widget is an object with type, title, layout, source and options.")
    problems = _Problems()
    problems.take(_known, data, {"id", "type", "title", "layout", "source", "options"}, "")
    kind = data.get("type")
    if kind not in TYPES:
        problems.take(_raise, "type", f"{kind!r} is not a widget type; use one of {', '.join(TYPES)}.")
        problems.raise_any()
    widget_id = data.get("id")
    if widget_id is not None:
        problems.take(_id, widget_id, "id", "widget")
    title = problems.take(_title, data)
    layout = problems.take(_layout, problems.take(_object, data.get("layout"), "layout", default={}), kind, problems)
    source = problems.take(_source, owner, kind, data.get("source"), problems)
    options = problems.take(_options, kind, data.get("options"), problems)
    problems.raise_any()
    return {"id": widget_id, "type": kind, "title": title, "layout": layout, "source": source, "options": options}


def widgets_clean(*, owner: User, widgets: Any) -> list[Widget]:
    """A dashboard's widget list: each widget cleaned, ids unique (missing ones become w1, w2, ...),
    a widget without `y` placed below the others. Raises WidgetError with the path from the list
    ("2.source.bucket"), naming the mistakes of every widget."""
    if not isinstance(widgets, list) or len(widgets) > MAX_WIDGETS:
        raise WidgetError("", f"Give a list of at most {MAX_WIDGETS} widgets.")
    cleaned, problems = [], []
    for i, data in enumerate(widgets):
        try:
            cleaned.append(widget_clean(owner=owner, data=data))
        except WidgetError as exc:
            problems += [(f"{i}.{path}".rstrip("."), message) for path, message in exc.problems]
    if problems:
        raise WidgetError.of(problems)
    ids = [w["id"] for w in cleaned if w["id"]]
    for i, w in enumerate(cleaned):
        if w["id"] and ids.count(w["id"]) > 1:
            raise WidgetError(f"{i}.id", f"Widget id '{w['id']}' appears twice.")
    for w in cleaned:
        if not w["id"]:
            w["id"] = next(f"w{n}" for n in range(1, MAX_WIDGETS + 2) if f"w{n}" not in ids)
            ids.append(w["id"])
    placed = [w["layout"] for w in cleaned if w["layout"]["y"] is not None]
    for w in cleaned:
        if w["layout"]["y"] is None:
            w["layout"]["y"], w["layout"]["x"] = _free_spot(placed, w["layout"]["w"], w["layout"]["h"])
            placed.append(w["layout"])
    return cleaned


def _overlap(a: Layout, b: Layout) -> bool:
    return a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


def _free_spot(placed: list[Layout], w: int, h: int) -> tuple[int, int]:
    """(y, x) of the first place in reading order where a w x h widget overlaps nothing. WidgetError
    if there is none above the grid's last row (widgets placed far down can fill it)."""
    for y in range(MAX_Y + 1):
        for x in range(COLUMNS - w + 1):
            if not any(_overlap({"x": x, "y": y, "w": w, "h": h}, other) for other in placed):
                return y, x
    raise WidgetError("layout", f"No free place for a {w} x {h} widget above row {MAX_Y}, the grid's last: "
                                "move widgets up or make some smaller first.")


def layout_push_down(widgets: list[Widget], fixed_id: str) -> list[Widget]:
    """After `fixed_id` moved or grew: every widget it now covers moves down below it, and so on
    down the grid, keeping their order; nothing overlaps and nothing else moves. WidgetError if a
    widget would be pushed below row MAX_Y (where they used to pile up on one another)."""
    fixed = next(w for w in widgets if w["id"] == fixed_id)
    placed = [fixed["layout"]]
    for w in sorted((w for w in widgets if w["id"] != fixed_id), key=lambda w: (w["layout"]["y"], w["layout"]["x"])):
        layout = w["layout"]
        while any(_overlap(layout, other) for other in placed):
            layout["y"] = max(o["y"] + o["h"] for o in placed if _overlap(layout, o))
            if layout["y"] > MAX_Y:
                raise WidgetError("layout", f"No room: widget {w['title'] or w['id']} would be pushed below row "
                                            f"{MAX_Y}, the grid's last. Move widgets up or make some smaller first.")
        placed.append(layout)
    return widgets
