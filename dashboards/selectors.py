"""Reads for dashboards: look-ups through the owner or the share secret, the data every widget
shows, and the version stamp that lets a refresh answer "nothing changed" cheaply.

Read-only over buckets and devices. A whole dashboard is read in a bounded number of queries:
one for its buckets, one for its devices, one for their properties, one "latest records" read per
bucket shown by value, gauge or table widgets, and the chart and map widgets' own range reads."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Max, OuterRef, QuerySet, Subquery

from buckets.models import Bucket, Record
from buckets.selectors.query import bucket_fields_cached, records_query
from dashboards.charts import chart_data
from dashboards.models import Dashboard
from dashboards.widgets import RANGES, Widget
from devices.models import Device, DeviceProperty
from platform.auth import found_or_404
from platform.clock import now_ms
from platform.tokens import token_hash

LATEST_SCAN = 100  # latest records read once per bucket for value, gauge and table widgets
MAP_POINTS = 1000


def dashboards_list(*, owner: User) -> QuerySet[Dashboard]:
    return Dashboard.objects.filter(owner=owner).order_by("dashboard_id")


def dashboard_for_owner_or_404(owner: User, dashboard_id: str) -> Dashboard:
    """The owner's dashboard, or Http404 (another user's does not exist for this owner): the one
    look-up of the dashboard pages, the widget views and the API."""
    return found_or_404(Dashboard.objects.filter(owner=owner, dashboard_id=dashboard_id).select_related("owner").first(),
                        "dashboard")


def dashboard_for_share(*, secret: str | None) -> Dashboard | None:
    """The dashboard whose live share link has this secret, or None (unknown or revoked)."""
    if not secret or len(secret) > 100:
        return None
    hashed = token_hash(secret)
    found = Dashboard.objects.filter(share_hash=hashed).select_related("owner").first()
    if found is None or not hmac.compare_digest(found.share_hash or "", hashed):
        return None
    return found


def _referenced(dashboard: Dashboard) -> tuple[set[str], set[str]]:
    buckets = {w["source"]["bucket"] for w in dashboard.widgets if "bucket" in w["source"]}
    devices = {w["source"]["device"] for w in dashboard.widgets if "device" in w["source"]}
    return buckets, devices


def dashboard_stamp(*, dashboard: Dashboard, now: int | None = None) -> str:
    """A short version of everything the dashboard shows: its own last change, each bucket's
    newest record time, each device's connection, last message and properties' last change, and
    the current minute (ranges slide and "seen 2 minutes ago" ages). Two queries at most."""
    buckets, devices = _referenced(dashboard)
    parts = [dashboard.modified.isoformat(), (now or now_ms()) // 60_000]
    if buckets:
        newest = Record.objects.filter(bucket=OuterRef("pk")).order_by("-ts").values("ts")[:1]
        parts.append(sorted(Bucket.objects.filter(owner_id=dashboard.owner_id, bucket_id__in=buckets)
                            .annotate(newest=Subquery(newest)).values_list("bucket_id", "newest")))
    if devices:
        parts.append(sorted(
            (device_id, connected, str(last_seen), str(changed)) for device_id, connected, last_seen, changed in
            Device.objects.filter(owner_id=dashboard.owner_id, device_id__in=devices)
            .annotate(changed=Max("properties__modified"))
            .values_list("device_id", "connected", "last_seen", "changed")))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _path(value: Any, field: str | None) -> Any:
    """A field of a JSON value, dotted for nested objects ("a.b"); None if absent."""
    if not field:
        return value
    for key in field.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _position(val: Any, fields: list[str]) -> tuple[float, float] | None:
    if not isinstance(val, dict):
        return None
    pairs: list[Sequence[str]] = [fields] if fields else [("lat", "lon"), ("latitude", "longitude")]
    for lat_key, lon_key in pairs:
        lat, lon = _path(val, lat_key), _path(val, lon_key)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lat, lon)) \
                and -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return None


def _latest_value(bucket: Bucket, records: list[dict[str, Any]], field: str) -> tuple[Any, int | None]:
    """(value, ts) of the newest record holding `field`: from the records already read when one
    of them has it, else one indexed query."""
    for record in records:
        value = _path(record["val"], field)
        if value is not None:
            return value, record["ts"]
    head = field.split(".")[0]
    row = (Record.objects.filter(bucket=bucket, val__has_key=head).order_by("-ts", "-id")
           .values_list("ts", "val").first())
    if row is None:
        return None, None
    return _path(row[1], field), row[0]


def dashboard_data(*, dashboard: Dashboard, now: int | None = None) -> dict[str, dict[str, Any]]:
    """{widget id: what it shows}, for every widget. A widget whose bucket or device is gone
    shows {"missing": "..."} instead of failing the page."""
    now = now or now_ms()
    bucket_ids, device_ids = _referenced(dashboard)
    buckets = {b.bucket_id: b for b in Bucket.objects.filter(owner_id=dashboard.owner_id, bucket_id__in=bucket_ids)}
    devices = {d.device_id: d for d in Device.objects.filter(owner_id=dashboard.owner_id, device_id__in=device_ids)}
    names = {w["source"]["property"] for w in dashboard.widgets if "property" in w["source"]}
    properties = {}
    if names and devices:
        for prop in DeviceProperty.objects.filter(device__in=devices.values(), name__in=names) \
                .select_related("device").only("name", "value", "modified", "device__device_id"):
            properties[(prop.device.device_id, prop.name)] = prop
    wanted: dict[str, tuple[Bucket, int]] = {}  # bucket id -> (bucket, records needed)
    for w in dashboard.widgets:
        bucket = buckets.get(w["source"].get("bucket"))
        if bucket and (w["type"] == "table" or w["type"] in ("value", "gauge")):
            need = max(LATEST_SCAN, w["source"].get("items", 0))
            wanted.setdefault(bucket.bucket_id, (bucket, need))
    latest = {bid: records_query(bucket=b, items=need) for bid, (b, need) in wanted.items()}
    return {w["id"]: _widget_data(w, buckets, devices, properties, latest, now) for w in dashboard.widgets}


def chart_height(rows: int) -> int:
    """A chart's drawing height, in the units of its width, for a widget `rows` grid rows tall: the
    card's height less its title and legend, at the scale a 12-column grid draws at on a laptop
    (64 px rows, 0.8 rem gaps; the width's units are about 1.1 px there). The CSS shrinks it to fit
    whatever is left; this keeps its shape close, so it is not drawn small in a wide empty card."""
    return max(120, 70 * rows - 85)


def _widget_data(widget: Widget, buckets: dict[str, Bucket], devices: dict[str, Device],
                 properties: dict[tuple[str, str], DeviceProperty], latest: dict[str, list[dict[str, Any]]],
                 now: int) -> dict[str, Any]:
    source, kind = widget["source"], widget["type"]
    if "bucket" in source:
        bucket = buckets.get(source["bucket"])
        if bucket is None:
            return {"missing": f"Bucket {source['bucket']} no longer exists."}
        if kind == "chart":
            min_ts = now - RANGES[source["range"]]
            points, agg, step = chart_data(bucket=bucket, source=source, span=RANGES[source["range"]], now=now)
            return {"points": points, "agg": agg, "step": step, "min_ts": min_ts, "max_ts": now,
                    "fields": source["fields"] or None, "width": max(420, 80 * widget["layout"]["w"]),
                    "height": chart_height(widget["layout"]["h"]),
                    "known": bucket_fields_cached(bucket=bucket)}
        if kind == "map":
            rows = records_query(bucket=bucket, items=MAP_POINTS, min_ts=now - RANGES[source["range"]], max_ts=now)
            track = [(r["ts"], pos) for r in reversed(rows) if (pos := _position(r["val"], source["fields"]))]
            return {"track": track}
        if kind == "table":
            rows = latest.get(bucket.bucket_id, [])[:source["items"]]
            # The chosen fields, or the first 12 of every field in these rows, in name order.
            columns = list(source["fields"]) or sorted(
                {key for r in rows for key in (r["val"] if isinstance(r["val"], dict) else {})})[:12]
            return {"columns": columns, "rows": [(r["ts"], [_path(r["val"], c) for c in columns]) for r in rows]}
        value, ts = _latest_value(bucket, latest.get(bucket.bucket_id, []), source["fields"][0])
        return {"value": value, "ts": ts}
    device = devices.get(source["device"])
    if device is None:
        return {"missing": f"Device {source['device']} no longer exists."}
    if kind == "status":
        return {"connected": device.connected, "last_seen": device.last_seen, "since": device.connected_ts}
    if "property" in source:
        prop = properties.get((device.device_id, source["property"]))
        return {"value": _path(prop.value, source.get("field")) if prop else None,
                "modified": prop.modified if prop else None, "device": device.device_id}
    return {"device": device.device_id}


