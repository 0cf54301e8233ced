"""Writes on dashboards. Keyword-only; never see a request. Every change to the widget list
happens on a row locked for the transaction, so two editors' changes never overwrite each other."""
import copy
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboards.models import Dashboard
from dashboards.widgets import (
    COLUMNS,
    MAX_H,
    MAX_WIDGETS,
    MAX_Y,
    Widget,
    WidgetError,
    layout_push_down,
    widget_clean,
    widgets_clean,
)
from devices import services as device_services
from devices.models import Device, Downlink
from platform.tokens import token_hash, token_new


class DashboardExists(ValueError):
    pass


def dashboard_create(*, owner: User, dashboard_id: str, name: str = "", description: str = "",
                     widgets: Iterable[Any] = ()) -> Dashboard:
    """Creates the owner's dashboard with its widgets (checked by widgets_clean: WidgetError if one
    is wrong). DashboardExists if the id is taken (the unique constraint decides under races)."""
    cleaned = widgets_clean(owner=owner, widgets=list(widgets))
    try:
        with transaction.atomic():
            return Dashboard.objects.create(owner=owner, dashboard_id=dashboard_id, name=name or dashboard_id,
                                            description=description, widgets=cleaned)
    except IntegrityError:
        raise DashboardExists(f"A dashboard with id {dashboard_id!r} already exists: choose another id.") from None


def dashboard_update(*, dashboard: Dashboard, **changes: Any) -> Dashboard:
    """Sets the given fields (name, description, widgets: the whole list, checked). Atomic."""
    if "widgets" in changes:
        changes["widgets"] = widgets_clean(owner=dashboard.owner, widgets=changes["widgets"])
    for key in ("name", "description", "widgets"):
        if key in changes:
            setattr(dashboard, key, changes[key])
    dashboard.save()
    return dashboard


def dashboard_delete(*, dashboard: Dashboard) -> None:
    dashboard.delete()


def _locked(dashboard: Dashboard) -> Dashboard:
    return Dashboard.objects.select_for_update().get(pk=dashboard.pk)


def widget_add(*, dashboard: Dashboard, data: dict[str, Any]) -> Widget:
    """Appends a widget (placed below the others unless its layout says where). Returns it."""
    with transaction.atomic():
        row = _locked(dashboard)
        if len(row.widgets) >= MAX_WIDGETS:
            raise WidgetError("", f"A dashboard holds at most {MAX_WIDGETS} widgets.")
        widgets = widgets_clean(owner=row.owner, widgets=[*row.widgets, {**data, "id": None}])
        row.widgets = widgets
        row.save(update_fields=["widgets", "modified"])
    dashboard.widgets, dashboard.modified = row.widgets, row.modified
    return widgets[-1]


def widget_update(*, dashboard: Dashboard, widget_id: str, data: dict[str, Any]) -> Widget | None:
    """Replaces a widget's type, title, source and options; its id and place stay. Returns it, or
    None if the dashboard has no such widget."""
    with transaction.atomic():
        row = _locked(dashboard)
        current = row.widget(widget_id)
        if current is None:
            return None
        cleaned = widget_clean(owner=row.owner, data={**data, "id": widget_id, "layout": {
            **current["layout"], **{k: v for k, v in (data.get("layout") or {}).items() if k in ("w", "h")}}})
        cleaned["layout"]["x"] = min(current["layout"]["x"], COLUMNS - cleaned["layout"]["w"])
        row.widgets = layout_push_down([cleaned if w["id"] == widget_id else w for w in row.widgets], widget_id)
        row.save(update_fields=["widgets", "modified"])
    dashboard.widgets, dashboard.modified = row.widgets, row.modified
    return cleaned


def widget_remove(*, dashboard: Dashboard, widget_id: str) -> bool:
    """Removes a widget; returns whether there was one."""
    with transaction.atomic():
        row = _locked(dashboard)
        kept = [w for w in row.widgets if w["id"] != widget_id]
        if len(kept) == len(row.widgets):
            return False
        row.widgets = kept
        row.save(update_fields=["widgets", "modified"])
    dashboard.widgets, dashboard.modified = row.widgets, row.modified
    return True


def widget_move(*, dashboard: Dashboard, widget_id: str, dx: int = 0, dy: int = 0, dw: int = 0,
                dh: int = 0) -> Widget | None:
    """Moves or resizes a widget by grid steps, kept inside the grid (a step past an edge does
    nothing); the widgets it lands on move down. Returns the widget, or None if there is none."""
    with transaction.atomic():
        row = _locked(dashboard)
        widgets = copy.deepcopy(row.widgets)
        widget = next((w for w in widgets if w["id"] == widget_id), None)
        if widget is None:
            return None
        layout = widget["layout"]
        layout["w"] = max(1, min(COLUMNS, layout["w"] + dw))
        layout["h"] = max(1, min(MAX_H, layout["h"] + dh))
        layout["x"] = max(0, min(COLUMNS - layout["w"], layout["x"] + dx))
        layout["y"] = max(0, min(MAX_Y, layout["y"] + dy))
        row.widgets = layout_push_down(widgets, widget_id)
        row.save(update_fields=["widgets", "modified"])
    dashboard.widgets, dashboard.modified = row.widgets, row.modified
    return widget


def share_create(*, dashboard: Dashboard) -> str:
    """A new read-only link secret for the dashboard; returns it (shown once: only its hash is
    kept). Any earlier link stops working."""
    secret = token_new()
    Dashboard.objects.filter(pk=dashboard.pk).update(share_hash=token_hash(secret), shared_at=timezone.now())
    dashboard.share_hash = token_hash(secret)
    return secret


def share_revoke(*, dashboard: Dashboard) -> bool:
    """Revokes the link: it answers 404 from now on. Returns whether there was one."""
    revoked = Dashboard.objects.filter(pk=dashboard.pk, share_hash__isnull=False).update(share_hash=None,
                                                                                          shared_at=None)
    dashboard.share_hash = None
    return bool(revoked)


def _control_device(dashboard: Dashboard, widget: Widget | None, kind: str) -> Device | None:
    if widget is None or widget["type"] != kind:
        return None
    return Device.objects.filter(owner=dashboard.owner, device_id=widget["source"]["device"]).first()


def widget_property_set(*, dashboard: Dashboard, widget_id: str, value: Any) -> Any:
    """The owner's edit through a property widget: sets the property (or, if the widget shows one
    field of it, that field of the stored object). Returns the new value, or None if the widget or
    its device is gone."""
    widget = dashboard.widget(widget_id)
    device = _control_device(dashboard, widget, "property")
    if device is None:
        return None
    name, field = widget["source"]["property"], widget["source"].get("field")
    with transaction.atomic():
        if field:
            current = device.properties.select_for_update().filter(name=name).values_list("value", flat=True).first()
            value = {**(current if isinstance(current, dict) else {}), field: value}
        device_services.property_set(device_id=device.pk, name=name, value=value)
    return value


def widget_downlink_send(*, dashboard: Dashboard, widget_id: str) -> Downlink | None:
    """Queues the downlink widget's fixed payload for its device; returns the Downlink or None."""
    widget = dashboard.widget(widget_id)
    device = _control_device(dashboard, widget, "downlink")
    if device is None:
        return None
    return device_services.downlink_queue(device=device, payload=widget["options"]["payload"], source="dashboard")
