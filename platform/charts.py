"""The server-rendered SVG line chart of the bucket page and of dashboard chart widgets (no
third-party chart code, nothing from a CDN). Made to be read: each field keeps its colour
whatever the range, the axes have round values and time labels on natural boundaries (whole
hours, midnights, first days of months), a line breaks where data is missing, every point has a
hover text, and a legend names each field with its latest value."""
import itertools
import math
import statistics
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from platform.clock import ms

PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#0d9488",
           "#ea580c"]
MAX_SERIES = 6
WIDTH, HEIGHT, PAD_L, PAD_R, PAD_T, PAD_B = 800, 260, 56, 14, 12, 28
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
Point = tuple[int, float]  # (ts ms, value)

TIME_STEPS = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR,
              6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY]


def field_colours(names: Iterable[str]) -> dict[str, str]:
    """{name: colour}. A field's colour comes from its name (a hash picks its slot in the palette),
    not from its position among the fields; a collision takes the next free slot, in name order.
    Give every field the bucket holds, not only those of one range: a collision resolved among the
    fields of one range would give a field another colour in a range without its rival."""
    taken: set[int] = set()
    colours = {}
    for name in sorted(names):
        slot = zlib.crc32(name.encode()) % len(PALETTE)
        while slot in taken and len(taken) < len(PALETTE):
            slot = (slot + 1) % len(PALETTE)
        taken.add(slot)
        colours[name] = PALETTE[slot]
    return colours


def numeric_series(points: Iterable[tuple[int, Any]], fields: Sequence[str] | None = None,
                   limit: int = MAX_SERIES) -> dict[str, list[Point]]:
    """{field: [(ts, value), ...]} for the numeric top-level fields of [(ts, val), ...], or only
    `fields` (in that order) when given."""
    series: dict[str, list[Point]] = {name: [] for name in fields or ()}
    for ts, val in points:
        if not isinstance(val, dict):
            val = {"value": val}
        for key, value in val.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if key not in series and (fields or len(series) >= limit):
                continue
            series.setdefault(key, []).append((ts, value))
    return {k: v for k, v in series.items() if v}


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if hi <= lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    start, end = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = round((end - start) / step)
    return [round(start + i * step, 10) for i in range(n + 1)]


def _local(ms: int) -> datetime:
    return timezone.localtime(datetime.fromtimestamp(ms / 1000, tz=UTC))


def _month_steps() -> Iterator[int]:
    yield from (1, 2, 3, 6)
    for power in itertools.count():
        for years in (1, 2, 5):
            yield 12 * years * 10**power


def time_ticks(lo_ts: int, hi_ts: int, count: int = 6) -> list[tuple[int, str]]:
    """[(ts, label)] at natural boundaries in local time: minutes, hours, midnights, or first days
    of months for long ranges."""
    span = hi_ts - lo_ts
    step = next((s for s in TIME_STEPS if span / s <= count), None)
    ticks: list[tuple[int, str]] = []
    if step is None:  # months: the first of every 1, 2, 3 or 6 months, or of January every 1, 2, 5, 10... years
        months = next(m for m in _month_steps() if span / (m * 30 * DAY) <= count)
        moment = _local(lo_ts).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        index = moment.year * 12 + moment.month - 1  # months since January of year 0
        index += months - index % months  # the first whole step after lo's month
        while index < 10000 * 12:  # datetime ends with 9999
            year, month = divmod(index, 12)
            moment = moment.replace(year=year, month=month + 1)
            ts = ms(moment)
            if ts > hi_ts:
                break
            ticks.append((ts, moment.strftime("%b %Y" if moment.month == 1 or not ticks else "%b")))
            index += months
        return ticks
    first = _local(lo_ts)
    offset = int((first.utcoffset() or timedelta(0)).total_seconds() * 1000)  # localtime() is aware: never None
    ts = -((-(lo_ts + offset)) // step) * step - offset  # the first local multiple of step at or after lo
    while ts <= hi_ts:
        moment = _local(ts)
        midnight = moment.hour == 0 and moment.minute == 0
        ticks.append((ts, moment.strftime("%d %b" if step >= DAY or midnight else "%H:%M")))
        ts += step
    return ticks


def _number(value: float, decimals: int | None = None) -> str:
    if decimals is not None:
        return f"{value:.{decimals}f}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _segments(pts: list[Point], step: int | None) -> list[list[Point]]:
    """Splits a series where consecutive points are further apart than three typical intervals
    (the aggregation step, or the median spacing of raw records): no line is drawn over a gap."""
    deltas = [b[0] - a[0] for a, b in itertools.pairwise(pts)]
    typical = max(step or 0, statistics.median(deltas) if deltas else 0)
    segments, current = [], [pts[0]]
    for prev, point in itertools.pairwise(pts):
        if typical and point[0] - prev[0] > 3 * typical:
            segments.append(current)
            current = []
        current.append(point)
    segments.append(current)
    return segments


def svg_chart(points: Iterable[tuple[int, Any]], *, min_ts: int | None = None, max_ts: int | None = None,
              step: int | None = None, fields: Sequence[str] | None = None, unit: str = "",
              decimals: int | None = None, y_min: float | None = None, y_max: float | None = None,
              colour: str | None = None, width: int = WIDTH, height: int = HEIGHT,
              known: Iterable[str] = ()) -> SafeString | str:
    """An SVG line chart of [(ts_ms, val)]; '' when nothing numeric is there, so the template can
    show its empty state. `fields` chooses and orders the series; `colour` overrides the colour of
    fields[0] (without fields, of the first charted field in name order); `y_min`/`y_max` fix the value
    axis; `width` is the drawing's width in its own units (a narrow widget draws a narrow chart, so
    its text stays readable when scaled down), `height` likewise (a dashboard widget's chart fits its
    card instead of being cut off at the bottom); `known` names the bucket's fields beyond this range,
    so that colours do not depend on the range (field_colours)."""
    series = numeric_series(points, fields)
    if not series:
        return ""
    colours = field_colours({*(known or ()), *(fields or ()), *series})
    if colour:
        # fields[0] even when it has no points in this range: the next field must not take its colour.
        colours[fields[0] if fields else min(series)] = colour
    all_ts = [ts for pts in series.values() for ts, _ in pts]
    values = [v for pts in series.values() for _, v in pts]
    lo_ts = min_ts if min_ts is not None else min(all_ts)
    hi_ts = max_ts if max_ts is not None else max(all_ts)
    if hi_ts <= lo_ts:
        hi_ts = lo_ts + 1
    ticks = nice_ticks(min(values) if y_min is None else y_min, max(values) if y_max is None else y_max)
    lo = ticks[0] if y_min is None else y_min
    hi = ticks[-1] if y_max is None else y_max
    plot_w, plot_h = width - PAD_L - PAD_R, height - PAD_T - PAD_B

    def x(ts: int) -> float:
        return PAD_L + (ts - lo_ts) / (hi_ts - lo_ts) * plot_w

    def y(v: float) -> float:
        return PAD_T + (1 - (min(max(v, lo), hi) - lo) / (hi - lo)) * plot_h

    suffix = f" {unit}" if unit else ""
    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Chart of {escape(", ".join(series))}">']
    for v in ticks:
        if lo <= v <= hi:
            out.append(f'<line class="axis" x1="{PAD_L}" x2="{width - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
                       f'<text x="{PAD_L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{_number(v)}</text>')
    # One label per ~80 units: a 6-column widget (480) still gets weekly labels over 30 days.
    for ts, label in time_ticks(lo_ts, hi_ts, count=max(3, min(8, width // 80))):
        # A label centred on a tick at the right edge ran out of the drawing ("12:0"): it ends there.
        anchor = "end" if x(ts) + len(label) * 3.5 > width else "middle"
        out.append(f'<line class="tick" x1="{x(ts):.1f}" x2="{x(ts):.1f}" y1="{height - PAD_B}" '
                   f'y2="{height - PAD_B + 4}"/><text x="{x(ts):.1f}" y="{height - 8}" text-anchor="{anchor}">'
                   f'{label}</text>')
    for name, pts in series.items():
        c = colours[name]
        # One polyline per stretch of data: the gaps between them stay empty.
        out.append(f'<g class="series" stroke="{c}">')
        for segment in _segments(pts, step):
            coords = " ".join(f"{x(ts):.1f},{y(v):.1f}" for ts, v in segment)
            out.append(f'<polyline fill="none" stroke-width="2" points="{coords}"/>')
        for ts, v in pts:  # hover: the browser shows the <title>; static/js/charts.js a tooltip
            when = _local(ts).strftime("%Y-%m-%d %H:%M:%S")
            out.append(f'<circle cx="{x(ts):.1f}" cy="{y(v):.1f}" r="2.5" fill="{c}">'
                       f'<title>{escape(name)} = {_number(v, decimals)}{escape(suffix)} at {when}</title></circle>')
        out.append("</g>")
    out.append("</svg>")
    legend = "".join(f'<span style="color:{colours[name]}"><b>{escape(name)}</b> '
                     f'{_number(pts[-1][1], decimals)}{escape(suffix)}</span>' for name, pts in series.items())
    return mark_safe(f'{"".join(out)}<div class="legend">{legend}</div>')
