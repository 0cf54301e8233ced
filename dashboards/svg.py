"""Small server-rendered SVGs for widgets: a gauge and a map track. No tiles and no script: a map
is the track itself drawn to scale, with a scale bar, so it works offline."""
import math
from datetime import UTC, datetime
from html import escape
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

METRES_PER_DEGREE = 111_320  # along a meridian; along a parallel, times cos(latitude)
MAP_W, MAP_H, MAP_PAD = 400, 260, 16


def number(value: Any, decimals: int | None = None) -> str:
    """A widget's value as text: numbers with the widget's decimals, other JSON as it is."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:.{decimals}f}" if decimals is not None else (f"{value:.4g}" if isinstance(value, float)
                                                                     else str(value))
    return str(value)


def gauge(value: Any, *, low: float = 0, high: float = 100, unit: str = "", decimals: int | None = None,
          colour: str = "#2563eb") -> SafeString:
    """A half-circle gauge from `low` to `high` with the value's arc and its text."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    frac = min(max((value - low) / (high - low), 0), 1) if numeric else 0
    angle = math.pi * (1 - frac)
    px, py = 100 + 80 * math.cos(angle), 100 - 80 * math.sin(angle)
    arc = f'<path d="M20,100 A80,80 0 0 1 {px:.1f},{py:.1f}" stroke="{escape(colour)}" stroke-width="16" fill="none"/>' \
        if numeric and frac > 0 else ""
    text = f"{number(value, decimals)}{(' ' + unit) if unit and numeric else ''}"
    return mark_safe(
        f'<svg class="gauge" viewBox="0 0 200 125" role="img" aria-label="{escape(text)} on a scale from '
        f'{number(low)} to {number(high)}"><path d="M20,100 A80,80 0 0 1 180,100" stroke="#e4e7ec" '
        f'stroke-width="16" fill="none"/>{arc}<text x="100" y="92" text-anchor="middle" class="gauge-value">'
        f'{escape(text)}</text><text x="20" y="120" text-anchor="middle">{number(low)}</text>'
        f'<text x="180" y="120" text-anchor="middle">{number(high)}</text></svg>')


def _nice_distance(metres: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above `metres`."""
    magnitude = 10 ** math.floor(math.log10(metres))
    return max(m * magnitude for m in (1, 2, 5) if m * magnitude <= metres)


def track(points: list[tuple[int, tuple[float, float]]], *, colour: str = "#2563eb") -> SafeString | str:
    """[(ts, (lat, lon))] oldest first, drawn as a line to scale (equirectangular around the
    track's middle latitude), the last position marked, with a scale bar and north up."""
    if not points:
        return ""
    lats = [p[1][0] for p in points]
    lons = [p[1][1] for p in points]
    mid = math.radians((min(lats) + max(lats)) / 2)
    xs = [lon * math.cos(mid) for lon in lons]
    # At least ~200 m across, so a device that stays put is a dot in a readable frame.
    span = max(max(xs) - min(xs), max(lats) - min(lats), 200 / METRES_PER_DEGREE)
    scale = min((MAP_W - 2 * MAP_PAD) / span, (MAP_H - 2 * MAP_PAD - 20) / span)  # px per degree
    cx, cy = (min(xs) + max(xs)) / 2, (min(lats) + max(lats)) / 2

    def px(x: float, lat: float) -> tuple[float, float]:
        return MAP_W / 2 + (x - cx) * scale, (MAP_H - 20) / 2 - (lat - cy) * scale

    coords = [px(x, lat) for x, lat in zip(xs, lats)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    lx, ly = coords[-1]
    ts, (lat, lon) = points[-1]
    when = timezone.localtime(datetime.fromtimestamp(ts / 1000, tz=UTC)).strftime("%Y-%m-%d %H:%M:%S")
    metres_per_px = METRES_PER_DEGREE / scale
    bar_m = _nice_distance(metres_per_px * MAP_W / 4)
    bar_px = bar_m / metres_per_px
    label = f"{bar_m / 1000:g} km" if bar_m >= 1000 else f"{bar_m:g} m"
    return mark_safe(
        f'<svg class="map" viewBox="0 0 {MAP_W} {MAP_H}" role="img" aria-label="Track of {len(points)} positions">'
        f'<rect width="{MAP_W}" height="{MAP_H}" fill="#f8fafc"/>'
        f'<polyline points="{line}" fill="none" stroke="{escape(colour)}" stroke-width="2.5" stroke-linejoin="round"/>'
        f'<circle cx="{coords[0][0]:.1f}" cy="{coords[0][1]:.1f}" r="4" fill="#fff" stroke="{escape(colour)}" '
        f'stroke-width="2"><title>first position</title></circle>'
        f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="6" fill="{escape(colour)}"><title>{lat:.5f}, {lon:.5f} at {when}'
        f'</title></circle>'
        f'<line x1="{MAP_PAD}" x2="{MAP_PAD + bar_px:.1f}" y1="{MAP_H - 10}" y2="{MAP_H - 10}" stroke="#1d2330" '
        f'stroke-width="2"/><text x="{MAP_PAD + bar_px + 6:.1f}" y="{MAP_H - 6}" class="scale">{label}</text>'
        f'<text x="{MAP_W - MAP_PAD}" y="{MAP_PAD + 4}" text-anchor="end" class="scale">N ↑</text></svg>'
        f'<p class="small muted">Last position {lat:.5f}, {lon:.5f} at {when}</p>')
