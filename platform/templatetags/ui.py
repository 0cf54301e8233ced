"""Template helpers for the web UI: times, JSON, and the server-rendered SVG chart (no
third-party chart code, nothing from a CDN)."""
import json
from datetime import datetime, timezone as dt_timezone
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

register = template.Library()

COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"]
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 800, 260, 56, 12, 12, 28


@register.filter
def ms_datetime(ms):
    """Epoch milliseconds as an aware datetime, for the `date` filter."""
    if ms in (None, ""):
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=dt_timezone.utc)


@register.filter
def pretty_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


@register.filter
def compact_json(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def numeric_series(points, limit=len(COLOURS)):
    """{field: [(ts, value), ...]} for the numeric top-level fields of [(ts, val), ...]."""
    series = {}
    for ts, val in points:
        if not isinstance(val, dict):
            val = {"value": val}
        for key, value in val.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key not in series and len(series) >= limit:
                continue
            series.setdefault(key, []).append((ts, value))
    return series


def _label(ms, span_ms):
    moment = timezone.localtime(datetime.fromtimestamp(ms / 1000, tz=dt_timezone.utc))
    return moment.strftime("%H:%M" if span_ms <= 36 * 3600_000 else "%d %b")


def _number(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def svg_chart(points, *, min_ts=None, max_ts=None):
    """An SVG line chart of the numeric fields of [(ts_ms, val)], one polyline per field, a dot
    per point with a <title> so hovering shows the time and the value. Returns '' when nothing
    numeric is there, so the template can show its empty state."""
    series = numeric_series(points)
    if not series:
        return ""
    all_ts = [ts for pts in series.values() for ts, _ in pts]
    values = [v for pts in series.values() for _, v in pts]
    lo_ts, hi_ts = min_ts if min_ts is not None else min(all_ts), max_ts if max_ts is not None else max(all_ts)
    if hi_ts <= lo_ts:
        hi_ts = lo_ts + 1
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(ts):
        return PAD_L + (ts - lo_ts) / (hi_ts - lo_ts) * plot_w

    def y(v):
        return PAD_T + (1 - (v - lo) / (hi - lo)) * plot_h

    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="Chart of {escape(", ".join(series))}">']
    for i in range(5):  # horizontal grid with value labels
        v = lo + (hi - lo) * i / 4
        out.append(f'<line class="axis" x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
                   f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_number(v)}</text>')
    for i in range(5):  # time labels
        ts = lo_ts + (hi_ts - lo_ts) * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f'<text x="{x(ts):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{_label(ts, hi_ts - lo_ts)}</text>')
    for n, (name, pts) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        coords = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in pts)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        for ts, v in pts:
            when = timezone.localtime(datetime.fromtimestamp(ts / 1000, tz=dt_timezone.utc)).strftime("%Y-%m-%d %H:%M:%S")
            out.append(f'<circle cx="{x(ts):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                       f'<title>{escape(name)} = {_number(v)} at {when}</title></circle>')
    out.append("</svg>")
    legend = "".join(f'<span style="color:{COLOURS[n % len(COLOURS)]}">{escape(name)}</span>'
                     for n, name in enumerate(series))
    return mark_safe(f'{"".join(out)}<div class="legend">{legend}</div>')


@register.simple_tag
def chart(points, min_ts=None, max_ts=None):
    return svg_chart(points, min_ts=min_ts, max_ts=max_ts)


@register.simple_tag
def registration_open():
    from django.conf import settings

    return settings.REGISTRATION_OPEN
