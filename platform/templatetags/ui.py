"""Template helpers for the web UI: times, JSON, and the server-rendered SVG chart (no
third-party chart code, nothing from a CDN)."""
import json
from datetime import UTC, datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from platform.charts import svg_chart
from platform.clock import epoch_ms_text

register = template.Library()


@register.filter
def ms_datetime(ms):
    """Epoch milliseconds as an aware datetime, for the `date` filter."""
    if ms in (None, ""):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


@register.filter
def ago(when):
    """"5 minutes ago"; "just now" within the first minute (timesince alone says "0 minutes")."""
    if when is None:
        return ""
    if timezone.now() - when < timedelta(minutes=1):
        return "just now"
    return f"{timesince(when)} ago"


# Epoch milliseconds as "2026-12-07 12:28:39.123 UTC": a full time, e.g. on hover.
register.filter("ms_text", epoch_ms_text)


@register.filter
def pretty_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@register.simple_tag
def chart(points, min_ts=None, max_ts=None, **options):
    """The chart of platform/charts.py; options: step, fields, unit, decimals, y_min, y_max, colour.
    A variable the template lacks arrives as "": it means the option is not set."""
    options = {key: None if value == "" else value for key, value in options.items()}
    return svg_chart(points, min_ts=min_ts, max_ts=max_ts, **options)


@register.simple_tag
def registration_open():
    from django.conf import settings

    return settings.REGISTRATION_OPEN
