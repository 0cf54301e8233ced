"""Template helpers of the dashboard widgets (see dashboards/svg.py)."""
from django import template

from dashboards import svg

register = template.Library()


@register.filter
def widget_number(value, options):
    return svg.number(value, (options or {}).get("decimals"))


@register.simple_tag
def gauge_svg(value, options):
    options = options or {}
    return svg.gauge(value, low=options.get("min", 0), high=options.get("max", 100), unit=options.get("unit", ""),
                     decimals=options.get("decimals"), colour=options.get("color") or "#2563eb")


@register.simple_tag
def map_svg(points, options):
    return svg.track(points, colour=(options or {}).get("color") or "#2563eb")


@register.filter
def is_scalar(value):
    return not isinstance(value, (dict, list))


UNITS = {"m": "minute", "h": "hour", "d": "day", "w": "week"}


@register.filter
def legend_caption(agg, agg_type):
    """What the number beside each field in a chart's legend is: with an aggregate, the one of the
    latest interval, still open (29.5 read as the latest value when the last record said 31)."""
    if not agg:
        return "Beside each field: its latest value."
    interval = f"{agg[:-1]}-{UNITS[agg[-1]]}"
    return f"Beside each field: the {agg_type} of the latest {interval} interval, so far."
