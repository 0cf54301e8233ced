"""Widget editing on the dashboard page (add, edit, move and resize, delete) and the owner's
controls (property edit, downlink button). Every view reaches the dashboard through its owner:
a share link never gets here (its pages answer GET only), and anyone else gets a 404."""
import copy
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboards import selectors, services
from dashboards.forms import TYPE_LABELS, WidgetForm
from dashboards.views import page_context
from dashboards.widgets import WidgetError
from platform.payloads import PayloadError, typed_value
from platform.web import render_page, toast, toasts_oob

MOVES = {"left": {"dx": -1}, "right": {"dx": 1}, "up": {"dy": -1}, "down": {"dy": 1},
         "wider": {"dw": 1}, "narrower": {"dw": -1}, "taller": {"dh": 1}, "shorter": {"dh": -1}}


def _widget(dashboard, widget_id):
    widget = dashboard.widget(widget_id)
    if widget is None:
        raise Http404("No such widget.")
    return widget


def _initial(widget):
    """The form's values for an existing widget."""
    source, options = widget["source"], widget["options"]
    values = {"type": widget["type"], "title": widget["title"], **source, **options}
    if widget["type"] == "map" and source.get("fields"):
        values["lat_field"], values["lon_field"] = source["fields"]
    if "payload" in options:
        values["payload"] = json.dumps(options["payload"])
    return values


def _keep_hidden_options(stored, cleaned, shown):
    """The edited widget, keeping what the form has no input for: the stored options (set through
    the API, e.g. a map's unit) and the size (set on the grid): saving a new title must not drop
    them. A new type starts afresh, at its own default size."""
    if stored["type"] != cleaned["type"]:
        return cleaned
    kept = {k: v for k, v in stored["options"].items() if k not in shown}
    return {**cleaned, "layout": stored["layout"], "options": {**kept, **cleaned["options"]}}


def _query(request):
    """The form's values from a re-render request (all its inputs, as htmx sends them)."""
    values = request.GET.dict()
    values["fields"] = request.GET.getlist("fields")
    return values


def _form_page(request, dashboard, form, widget=None, status=200):
    context = {"dashboard": dashboard, "form": form, "widget": widget, "type_labels": TYPE_LABELS}
    return render_page(request, "dashboards/widget_form.html", context, partials=("widget-form",), status=status)


@login_required
def widget_create(request, dashboard_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    if request.method != "POST":
        # A change of type, bucket or device re-renders the form (htmx) with what fits the choice.
        return _form_page(request, dashboard, WidgetForm(owner=request.user, initial=_query(request),
                                                         choices_from=request.GET, refresh_url=request.path))
    form = WidgetForm(request.POST, owner=request.user, refresh_url=request.path)
    if form.is_valid():
        try:
            added = services.widget_add(dashboard=dashboard, data=form.cleaned_widget)
        except WidgetError as exc:
            form.add_error(None, exc.message)
        else:
            toast(request, f"Widget {added['title'] or TYPE_LABELS[added['type']]} added.")
            return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)
    return _form_page(request, dashboard, form, status=400)


@login_required
def widget_edit(request, dashboard_id, widget_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    widget = _widget(dashboard, widget_id)
    if request.method != "POST":
        initial = _query(request) if request.GET else _initial(widget)
        form = WidgetForm(owner=request.user, initial=initial, choices_from=request.GET or initial,
                          refresh_url=request.path)
        return _form_page(request, dashboard, form, widget)
    form = WidgetForm(request.POST, owner=request.user, refresh_url=request.path)
    if form.is_valid():
        data = _keep_hidden_options(widget, form.cleaned_widget, form.shown)
        try:
            services.widget_update(dashboard=dashboard, widget_id=widget_id, data=data)
        except WidgetError as exc:  # grown so that the widgets below would leave the grid
            form.add_error(None, exc.message)
        else:
            toast(request, f"Widget {form.cleaned_widget['title'] or TYPE_LABELS[form.cleaned_widget['type']]} saved.")
            return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)
    return _form_page(request, dashboard, form, widget, status=400)


def _grid(request, dashboard, message, level=messages.SUCCESS):
    toast(request, message, level)
    if not request.htmx:
        return redirect(reverse("dashboard_detail", args=[dashboard.dashboard_id]) + "?edit=1")
    return render_page(request, "dashboards/detail.html", page_context(dashboard, editing=True),
                       partials=("grid",))


@login_required
@require_POST
def widget_move(request, dashboard_id, widget_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    widget = _widget(dashboard, widget_id)
    name = request.POST.get("move", "")
    if name not in MOVES:
        return HttpResponseBadRequest(f"Unknown move: use one of {', '.join(MOVES)}.")
    try:
        services.widget_move(dashboard=dashboard, widget_id=widget_id, **MOVES[name])
    except WidgetError as exc:
        return _grid(request, dashboard, exc.message, messages.WARNING)
    verb = "moved" if name in ("left", "right", "up", "down") else "made"
    return _grid(request, dashboard, f"Widget {widget['title'] or widget['id']} {verb} {name}.")


@login_required
@require_POST
def widget_delete(request, dashboard_id, widget_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    widget = _widget(dashboard, widget_id)
    services.widget_remove(dashboard=dashboard, widget_id=widget_id)
    return _grid(request, dashboard, f"Widget {widget['title'] or widget['id']} deleted.")


def _body(request, dashboard, widget, message):
    """After a control acted: the widget's body re-rendered in place, with the toast."""
    toast(request, message)
    if not request.htmx:
        return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)
    alone = copy.copy(dashboard)  # the data of this widget only, not of the whole dashboard
    alone.widgets = [widget]
    data = selectors.dashboard_data(dashboard=alone)
    response = render(request, "dashboards/_body.html", {"w": widget, "d": data.get(widget["id"], {}),
                                                         "dashboard": dashboard, "shared": False})
    response.content += toasts_oob(request).encode()
    return response


@login_required
@require_POST
def widget_property(request, dashboard_id, widget_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    widget = _widget(dashboard, widget_id)
    try:
        value = typed_value(request.POST.get("value", ""))
    except PayloadError as exc:
        return HttpResponseBadRequest(f"This value cannot be stored: {exc}")
    if services.widget_property_set(dashboard=dashboard, widget_id=widget_id, value=value) is None:
        raise Http404("This widget edits no property.")
    return _body(request, dashboard, widget, f"Property {widget['source']['property']} saved.")


@login_required
@require_POST
def widget_downlink(request, dashboard_id, widget_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    widget = _widget(dashboard, widget_id)
    if services.widget_downlink_send(dashboard=dashboard, widget_id=widget_id) is None:
        raise Http404("This widget sends no downlink.")
    return _body(request, dashboard, widget, f"Downlink queued for {widget['source']['device']}: it gets it in the "
                                             "answer to its next callback.")
