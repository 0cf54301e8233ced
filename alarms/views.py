"""Alarm and rule pages. Adapters only: owner look-up (404 for anyone else), a form, one service
call, the page or the part htmx asked for."""
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from alarms import selectors, services
from alarms.forms import RuleForm, ShelveForm
from alarms.models import Alarm
from platform.web import render_page, toast

LIST_SIZE = 200


def _shown_tab(request):
    """The list's tab, "open" (the default) or "all". An action posted from the list carries it in
    its URL's query, so the rows it answers (and their poll) stay on the tab the person was on."""
    return "open" if request.GET.get("show", "open") == "open" else "all"


def _list_context(request):
    show = _shown_tab(request)
    states = Alarm.OPEN if show == "open" else None
    return {"alarms": selectors.alarms_for_owner(request.user, states=states)[:LIST_SIZE], "show": show,
            "shelve_form": ShelveForm(), "has_rules": request.user.alarm_rules.exists()}


@login_required
def alarm_list(request):
    return render_page(request, "alarms/list.html", _list_context(request), partials=("alarm-rows",))


def _detail_context(alarm):
    return {"alarm": alarm, "events": selectors.events_for_alarm(alarm), "shelve_form": ShelveForm()}


@login_required
def alarm_detail(request, pk):
    alarm = selectors.alarm_for_owner_or_404(request.user, pk)
    return render_page(request, "alarms/detail.html", _detail_context(alarm), partials=("alarm-card",))


@login_required
def alarm_badge(request):
    """The navigation's count of active alarms, polled by the badge itself."""
    return render(request, "alarms/_badge.html", {"count": selectors.open_alarms_count(request.user)})


DONE = {"acknowledge": "acknowledged", "shelve": "shelved", "clear": "cleared"}


def _with_badge(request, response):
    """The navigation's count, swapped out of band with the part an action answers: it showed the
    old count until its next poll."""
    response.content += render_to_string("alarms/_badge.html", {
        "count": selectors.open_alarms_count(request.user), "oob": True}, request=request).encode()
    return response


@login_required
@require_POST
def alarm_action(request, pk, action):
    """Acknowledge, shelve or clear (after the confirmation window); htmx gets the part it
    targets with the toast, without JS a redirect to where the button was."""
    alarm = selectors.alarm_for_owner_or_404(request.user, pk)
    if action not in DONE:
        raise Http404("No such action.")
    kwargs = {}
    if action == "shelve":
        form = ShelveForm(request.POST)
        kwargs["minutes"] = form.cleaned_data["minutes"] if form.is_valid() else 60
    try:
        acts: dict[str, Callable[..., Alarm]] = {"acknowledge": services.alarm_acknowledge,
                                                 "shelve": services.alarm_shelve, "clear": services.alarm_clear}
        act = acts[action]
        act(alarm=alarm, by=request.user.get_username(), **kwargs)
    except services.AlarmActionError as exc:
        toast(request, str(exc), messages.WARNING)
    else:
        toast(request, f"Alarm {alarm.rule.rule_id} on {alarm.device.device_id} {DONE[action]}.")
    target = request.htmx.target if request.htmx else None
    if target == "alarm-card":
        response = render_page(request, "alarms/detail.html",
                               _detail_context(selectors.alarm_for_owner_or_404(request.user, pk)),
                               partials=("alarm-card",))
        return _with_badge(request, response)
    if target == "alarm-rows":
        return _with_badge(request, render_page(request, "alarms/list.html", _list_context(request),
                                                partials=("alarm-rows",)))
    if request.POST.get("next") == "detail":
        return redirect("alarm_detail", pk=alarm.pk)
    return redirect(f"{reverse('alarm_list')}?show=all" if _shown_tab(request) == "all" else "alarm_list")


# --- Rules -------------------------------------------------------------------------------------

@login_required
def rule_list(request):
    return render_page(request, "alarms/rules.html", {"rules": selectors.rules_for_owner(request.user)})


@login_required
def rule_create(request):
    form = RuleForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create_checked(owner=request.user, rule_id=form.cleaned_data["rule_id"],
                                                spec=form.checked_spec)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            toast(request, f"Rule {rule.rule_id} created.")
            return redirect("alarm_rule_list")
    return render_page(request, "alarms/rule_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def rule_edit(request, rule_id):
    rule = selectors.rule_for_owner_or_404(request.user, rule_id)
    form = RuleForm(request.POST or None, owner=request.user, editing=rule, initial=RuleForm.initial_for(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_update_checked(rule=rule, spec=form.checked_spec)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            toast(request, f"Rule {rule.rule_id} saved.")
            return redirect("alarm_rule_list")
    return render_page(request, "alarms/rule_form.html", {"form": form, "rule": rule},
                       status=400 if form.errors else 200)


@login_required
@require_POST
def rule_delete(request, rule_id):
    rule = selectors.rule_for_owner_or_404(request.user, rule_id)
    services.rule_delete(rule=rule)
    toast(request, f"Rule {rule_id} deleted with its alarms.")
    return redirect("alarm_rule_list")
