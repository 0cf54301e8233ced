"""Endpoint and application (connection) pages. Adapters only: owner look-up (404 for anyone
else), a form, one service call, the page or the part htmx asked for."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from endpoints import selectors, services
from endpoints.delivery import (
    connection_downlink_url,
    deliveries_retry_now,
    deliveries_statistics,
    delivery_retry,
    endpoint_call,
)
from endpoints.forms import ApplicationForm, EndpointForm, SendTestForm
from endpoints.hints import private_url_warning
from endpoints.models import Connection, Delivery
from endpoints.secret_headers import header_rows, keep_masked
from endpoints.targets import connection as connection_kind
from endpoints.templating import TemplateError
from endpoints.transport import TransportError
from platform.clock import now_ms
from platform.web import render_page, toast, toasts_oob

LOG_SIZE = 20


def _log(attempts):
    """The attempt log with a Retry button on the newest attempt of each failed delivery (one
    button per delivery, not one per attempt)."""
    rows, seen = list(attempts), set()
    for attempt in rows:
        attempt.retryable = attempt.delivery.state == Delivery.FAILED and attempt.delivery_id not in seen
        seen.add(attempt.delivery_id)
    return rows


def _retry(request: HttpRequest, delivery: Delivery) -> None:
    """Requeues one failed delivery of a target the user owns; toasts the outcome. A delivery that
    is no longer failed (retried twice, from another tab) is a warning, not an error: the page
    then shows its current state."""
    with transaction.atomic():
        requeued = delivery_retry(delivery=delivery)
    if requeued:
        toast(request, "Delivery queued again; it is sent shortly.")
    else:
        toast(request, f"Only a failed delivery can be retried; this one is {delivery.state}.", messages.WARNING)


def _errors_to_form(form, exc):
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- Endpoints ---------------------------------------------------------------------------------

@login_required
def endpoint_list(request):
    return render_page(request, "endpoints/list.html", {"endpoints": selectors.endpoints_for_owner(request.user)})


@login_required
def endpoint_create(request):
    form = EndpointForm(request.POST or None, owner=request.user, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(owner=request.user, endpoint_id=form.cleaned_data["endpoint_id"],
                                                **form.config())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            toast(request, f"Endpoint {endpoint.endpoint_id} created. Try it with Send test.")
            return redirect("endpoint_detail", endpoint_id=endpoint.endpoint_id)
    return render_page(request, "endpoints/form.html",
                       {"form": form, "url_warning": private_url_warning(form.data.get("url"))},
                       status=400 if form.errors else 200)


@login_required
def endpoint_edit(request, endpoint_id):
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    form = EndpointForm(request.POST or None, owner=request.user, editing=endpoint,
                        initial=EndpointForm.initial_for(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, **form.config())
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            toast(request, f"Endpoint {endpoint.endpoint_id} saved.")
            return redirect("endpoint_detail", endpoint_id=endpoint.endpoint_id)
    url = form.data.get("url") if form.is_bound else endpoint.url
    return render_page(request, "endpoints/form.html",
                       {"form": form, "endpoint": endpoint, "url_warning": private_url_warning(url)},
                       status=400 if form.errors else 200)


def _reveal(request):
    """The owner asked to see secret header values (`?reveal=headers`)."""
    return request.GET.get("reveal") == "headers"


def _polled(request, parts):
    """The part an htmx poll (or button) asked for, if it is one of `parts`: the view then builds
    only that part's context, as a poll every 3 s must not pay for the whole page."""
    target = request.htmx.target if request.htmx else None
    return target if target in parts else None


def _endpoint_health(endpoint):
    statistics, next_attempt = deliveries_statistics(target=endpoint)
    return {"endpoint": endpoint, "statistics": statistics, "next_attempt": next_attempt}


def _endpoint_calls(endpoint):
    return {"endpoint": endpoint, "calls": _log(selectors.attempts_for_target(endpoint=endpoint)[:LOG_SIZE])}


ENDPOINT_PARTS = {"health": _endpoint_health, "calls": _endpoint_calls}


def _endpoint_context(endpoint, reveal=False, **extra):
    return {"endpoint": endpoint, "test_form": SendTestForm(owner=endpoint.owner), "answer": None,
            "headers": header_rows(endpoint.headers, reveal=reveal), "revealed": reveal,
            "secret_headers": any(secret for _, _, secret in header_rows(endpoint.headers)),
            "url_warning": private_url_warning(endpoint.url),
            **_endpoint_health(endpoint), **_endpoint_calls(endpoint), **extra}


@login_required
def endpoint_detail(request, endpoint_id):
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    part = _polled(request, ENDPOINT_PARTS)
    context = ENDPOINT_PARTS[part](endpoint) if part else _endpoint_context(endpoint, reveal=_reveal(request))
    return render_page(request, "endpoints/detail.html", context, partials=tuple(ENDPOINT_PARTS))


def _retry_now(request, target, name):
    """Makes the target's waiting deliveries due at once and says how many (both target kinds)."""
    waiting = deliveries_retry_now(target=target)
    toast(request, f"Retrying {waiting} deliver{'y' if waiting == 1 else 'ies'} to {name} now.")


@login_required
@require_POST
def endpoint_retry_now(request, endpoint_id):
    """"Retry now": the endpoint's deliveries waiting for a retry are due at once."""
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    _retry_now(request, endpoint, endpoint.endpoint_id)
    if request.htmx:
        return render_page(request, "endpoints/detail.html", _endpoint_health(endpoint), partials=("health",))
    return redirect("endpoint_detail", endpoint_id=endpoint.endpoint_id)


@login_required
@require_POST
def endpoint_test(request, endpoint_id):
    """Sends one request now and shows what came back."""
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    form = SendTestForm(request.POST, owner=request.user)
    answer = None
    if form.is_valid():
        device = form.cleaned_data["device"]
        try:
            reply = endpoint_call(endpoint=endpoint, payload=form.cleaned_data["payload"], now_ms=now_ms(),
                                  device_id=device.device_id if device else "", device_name=device.name if device else "")
            answer = {"ok": reply.ok, "status": reply.status, "ms": reply.ms, "body": reply.body}
        except (TransportError, TemplateError) as exc:
            answer = {"ok": False, "error": str(exc)}
    context = _endpoint_context(endpoint, test_form=form, answer=answer)
    if request.htmx:
        response = render(request, "endpoints/detail.html#test", context)
        # The call log gains the test's attempt now, not at its next 10 s refresh.
        response.content += render_to_string("endpoints/detail.html#calls", {**context, "oob": True},
                                             request=request).encode()
        return response
    return render_page(request, "endpoints/detail.html", context, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def endpoint_delivery_retry(request, endpoint_id, delivery):
    """Retry from the call log: htmx gets the refreshed log and the toast; without JS, a redirect."""
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    _retry(request, selectors.delivery_for_target_or_404(endpoint=endpoint, pk=delivery))
    if request.htmx:
        return render_page(request, "endpoints/detail.html", _endpoint_calls(endpoint), partials=("calls",))
    return redirect("endpoint_detail", endpoint_id=endpoint.endpoint_id)


@login_required
@require_POST
def endpoint_delete(request, endpoint_id):
    endpoint = selectors.endpoint_for_owner_or_404(request.user, endpoint_id)
    services.endpoint_delete(endpoint=endpoint)
    toast(request, f"Endpoint {endpoint_id} deleted.")
    return redirect("endpoint_list")


# --- Applications (ThingPark HTTP connections) -------------------------------------------------

@login_required
def application_list(request):
    return render_page(request, "applications/list.html",
                       {"applications": selectors.connections_for_owner(request.user)})


@login_required
def application_create(request):
    """Step one of ThingPark's flow: choose the type (HTTP is the one this platform speaks)."""
    return render(request, "applications/choose_type.html")


@login_required
def application_create_http(request):
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = services.connection_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            toast(request, f"Application {connection.name} created.")
            return redirect("application_detail", pk=connection.pk)
    return render(request, "applications/create.html",
                  {"form": form, "url_warning": private_url_warning(form.data.get("destination_url"))},
                  status=400 if form.errors else 200)


def _config(connection, **changes):
    """The whole configuration (ThingPark's PUT replaces it), with the changes applied."""
    config = {name: getattr(connection, name) for name in services.CONNECTION_FIELDS}
    return {**config, **changes}


def _application_health(connection, polled=True):
    """`polled`: the part is rendered on its own, so it also carries the title's status dot."""
    statistics, next_attempt = deliveries_statistics(target=connection)
    state_help, failing = STATE_HELP.get(connection.state, ""), False
    if connection.state == Connection.OPENED and statistics["failed"]:
        # OPENED is ThingPark's state of the link, and a message refused for good (a 4xx, an address
        # that is not allowed) leaves it open: "being delivered" would hide that nothing arrived.
        last = selectors.attempts_for_target(connection=connection).first()
        if last is not None and last.delivery.state == Delivery.FAILED:
            failing = True
            reason = last.error or f"HTTP {last.status_code}"
            state_help = f"Open, but the last delivery failed for good ({reason}); see Activity below."
    return {"connection": connection, "statistics": statistics, "next_attempt": next_attempt,
            "pause": connection_kind.pause(connection, connection.blame_count),
            "state_help": state_help, "failing": failing, "polled": polled}


def _application_activity(connection):
    return {"connection": connection, "devices": connection.devices.order_by("device_id"),
            "attempts": _log(selectors.attempts_for_target(connection=connection)[:LOG_SIZE])}


APPLICATION_PARTS: dict[str, Callable[[Connection], dict[str, Any]]] = {"health": _application_health, "activity": _application_activity}


def _application_context(connection, reveal=False, **extra):
    return {"downlink_url": connection_downlink_url(connection),
            "headers": header_rows(connection.headers, reveal=reveal), "revealed": reveal,
            "secret_headers": any(secret for _, _, secret in header_rows(connection.headers)),
            "url_warning": private_url_warning(connection.destination_url),
            **_application_health(connection, polled=False), **_application_activity(connection),
            "fields": [(name, ApplicationForm.base_fields[name].label or name.capitalize())
                       for name in ApplicationForm.EDITABLE],
            **extra}


@login_required
def application_detail(request, pk):
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    part = _polled(request, APPLICATION_PARTS)
    if part:
        return render_page(request, "applications/detail.html", APPLICATION_PARTS[part](connection),
                           partials=(part,))
    editing = request.GET.get("edit")
    if editing not in ApplicationForm.EDITABLE:
        editing = None
    context = _application_context(connection, reveal=_reveal(request), editing=editing,
                                   form=ApplicationForm(only=editing, initial=_config(connection)) if editing else None)
    if request.htmx and request.htmx.target and request.htmx.target.startswith("setting-"):
        field = request.htmx.target.removeprefix("setting-")
        if field not in ApplicationForm.EDITABLE:
            raise Http404("No such setting.")
        return _setting(request, context, field)
    return render_page(request, "applications/detail.html", context, partials=("activity", "health"))


@login_required
@require_POST
def application_retry_now(request, pk):
    """"Retry now": what waits for the blame period or a retry is due at once."""
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    _retry_now(request, connection, connection.name)
    if request.htmx:
        connection.refresh_from_db()
        return render_page(request, "applications/detail.html", _application_health(connection),
                           partials=("health",))
    return redirect("application_detail", pk=connection.pk)


def _setting(request, context, field, toast_html=""):
    label = dict(context["fields"])[field]
    response = render(request, "applications/detail.html#setting", {**context, "name": field, "label": label})
    response.content += toast_html.encode()
    return response


@login_required
@require_POST
def application_field(request, pk, field):
    """Saves one setting from the details page (after the confirmation window)."""
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    if field not in ApplicationForm.EDITABLE:
        raise Http404("No such setting.")
    form = ApplicationForm(request.POST, only=field)
    if form.is_valid():
        changes = dict(form.cleaned_data)
        if "headers" in changes:
            changes["headers"] = keep_masked(changes["headers"], connection.headers)
        try:
            services.connection_replace(connection=connection, **_config(connection, **changes))
        except ValidationError as exc:
            _errors_to_form(form, exc)
    if form.errors:
        context = _application_context(connection, editing=field, form=form)
        if request.htmx:
            return _setting(request, context, field)
        return render(request, "applications/detail.html", context, status=400)
    toast(request, f"Application {connection.name} updated.")
    if request.htmx:
        return _setting(request, _application_context(connection, editing=None, form=None), field,
                        toasts_oob(request))
    return redirect("application_detail", pk=connection.pk)


@login_required
@require_POST
def application_active(request, pk):
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    active = not connection.active
    try:
        services.connection_replace(connection=connection, **_config(connection, active=active))
    except ValidationError as exc:  # a setting saved before a rule that refuses it now
        toast(request, f"Application {connection.name} is unchanged: {' '.join(exc.messages)} Fix that setting first.",
              messages.ERROR)
    else:
        toast(request, f"Application {connection.name} {'activated' if active else 'deactivated'}.")
    return redirect("application_detail", pk=connection.pk)


@login_required
@require_POST
def application_delivery_retry(request, pk, delivery):
    """Retry from "Latest deliveries": htmx gets the refreshed activity part and the toast."""
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    _retry(request, selectors.delivery_for_target_or_404(connection=connection, pk=delivery))
    if request.htmx:
        return render_page(request, "applications/detail.html", _application_activity(connection),
                           partials=("activity",))
    return redirect("application_detail", pk=connection.pk)


@login_required
@require_POST
def application_delete(request, pk):
    connection = selectors.connection_for_owner_or_404(request.user, pk)
    services.connection_delete(connection=connection)
    toast(request, f"Application {connection.name} deleted.")
    return redirect("application_list")


STATE_HELP = {
    Connection.OPENED: "Messages are being delivered.",
    Connection.UNREACHABLE: "The last delivery failed; deliveries are paused, then resume with the oldest.",
    Connection.DEACTIVATED: "Deactivated: messages are not forwarded.",
}
