"""The navigation badge and the device page's open alarms: pieces other apps' templates include."""

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from alarms import selectors
from platform.templatetags.ui import compact_json

register = template.Library()


@register.inclusion_tag("alarms/_badge.html", takes_context=True)
def alarm_badge(context):
    user = context["request"].user
    return {"count": selectors.open_alarms_count(user) if user.is_authenticated else 0}


@register.inclusion_tag("alarms/_device_alarms.html")
def device_alarms(device):
    return {"device": device, "alarms": selectors.open_alarms_for_device(device)}


@register.simple_tag
def alarm_action_url(alarm, action, show=""):
    """Where an action button posts; from the list, with the tab shown (`show`), so the rows the
    action answers, and the no-JavaScript redirect, stay on that tab."""
    url = reverse("alarm_action", args=[alarm.pk, action])
    return f"{url}?{urlencode({'show': show})}" if show else url


@register.filter
def rule_source(rule):
    from alarms.notify import source_text

    return source_text(rule)


@register.filter
def rule_condition(condition):
    from alarms.conditions import describe

    return describe(condition)


@register.filter
def rule_normalize(rule):
    """"; normalizes when < 25": the hysteresis a rule was saved with, after its condition."""
    from alarms.conditions import describe

    return f"; normalizes when {describe(rule.normalize)}" if rule.normalize else ""


@register.filter
def rule_confirm(confirm):
    confirm = confirm or {}
    if confirm.get("type") == "sequence":
        return f"{confirm['count']} in a row"
    if confirm.get("type") == "timespan":
        seconds = confirm["seconds"]
        return f"for {seconds // 60} min" if seconds % 60 == 0 else f"for {seconds} s"
    return "at once"


@register.filter
def alarm_value(alarm):
    """The value that opened the alarm, as JSON; a silence alarm's is its minutes without a message."""
    if alarm.rule.source_type == "silence" and isinstance(alarm.value, int):
        return f"{alarm.value} min without a message"
    return compact_json(alarm.value)
