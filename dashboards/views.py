"""The dashboard pages: list, create, edit, the live page, sharing, and the read-only shared page.
Widget editing and controls are in widget_views.py."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboards import selectors, services
from dashboards.forms import DashboardForm
from platform.auth import found_or_404
from platform.clock import ms
from platform.web import render_page, toast

SHARE_SESSION_KEY = "dashboard_share_once"
POLL_SECONDS = 3


def cards(dashboard, data):
    """(widget, its data) in reading order: top to bottom, then left to right (the order a phone
    stacks them in)."""
    ordered = sorted(dashboard.widgets, key=lambda w: (w["layout"]["y"], w["layout"]["x"]))
    return [(w, data.get(w["id"], {})) for w in ordered]


def page_context(dashboard, *, shared=False, secret=None, editing=False, stamp=None):
    data = selectors.dashboard_data(dashboard=dashboard)
    refresh = reverse("shared_refresh", args=[secret]) if shared else reverse("dashboard_refresh",
                                                                              args=[dashboard.dashboard_id])
    return {"dashboard": dashboard, "cards": cards(dashboard, data), "shared": shared, "editing": editing,
            "stamp": stamp or selectors.dashboard_stamp(dashboard=dashboard), "refresh_url": refresh,
            "poll_seconds": POLL_SECONDS, "layout_version": _layout_version(dashboard)}


def _layout_version(dashboard):
    """The dashboard's last change, in ms: a page showing an older layout reloads itself."""
    return ms(dashboard.modified)


@login_required
def dashboard_list(request):
    return render_page(request, "dashboards/list.html",
                       {"dashboards": selectors.dashboards_list(owner=request.user)})


@login_required
def dashboard_create(request):
    form = DashboardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.dashboard_create(owner=request.user, dashboard_id=data["dashboard_id"],
                                                name=data["name"], description=data["description"])
        except services.DashboardExists as exc:
            form.add_error("dashboard_id", str(exc))
        else:
            toast(request, f"Dashboard {created.dashboard_id} created. Add its first widget.")
            return redirect("dashboard_detail", dashboard_id=created.dashboard_id)
    return render_page(request, "dashboards/form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def dashboard_edit(request, dashboard_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    form = DashboardForm(request.POST or None, editing=True,
                         initial={"name": dashboard.name, "description": dashboard.description})
    if request.method == "POST" and form.is_valid():
        services.dashboard_update(dashboard=dashboard, name=form.cleaned_data["name"],
                                  description=form.cleaned_data["description"])
        toast(request, f"Dashboard {dashboard.dashboard_id} saved.")
        return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)
    return render_page(request, "dashboards/form.html", {"form": form, "dashboard": dashboard},
                       status=400 if form.errors else 200)


@login_required
@require_POST
def dashboard_delete(request, dashboard_id):
    services.dashboard_delete(dashboard=selectors.dashboard_for_owner_or_404(request.user, dashboard_id))
    toast(request, f"Dashboard {dashboard_id} deleted.")
    return redirect("dashboard_list")


@login_required
@never_cache
def dashboard_detail(request, dashboard_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    context = page_context(dashboard, editing=request.GET.get("edit") == "1")
    once = request.session.pop(SHARE_SESSION_KEY, None) if not request.htmx else None
    context["share_url"] = once["url"] if once and once.get("dashboard") == dashboard.pk else None
    return render_page(request, "dashboards/detail.html", context, partials=("grid",))


def _refresh(request, dashboard, *, shared, secret=None):
    """One request renders every widget's body (out-of-band swaps into the page), or 204 when the
    stamp the page holds is still current: then it costs the stamp's two small queries. A page
    whose layout is older than the dashboard's (widgets added, moved or removed elsewhere: another
    tab, the API) is told to reload."""
    if request.GET.get("m", str(_layout_version(dashboard))) != str(_layout_version(dashboard)):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    stamp = selectors.dashboard_stamp(dashboard=dashboard)
    if request.GET.get("v") == stamp:
        return HttpResponse(status=204)
    context = page_context(dashboard, shared=shared, secret=secret, stamp=stamp)
    return render(request, "dashboards/_refresh.html", context)


@login_required
@never_cache
@require_GET
def dashboard_refresh(request, dashboard_id):
    return _refresh(request, selectors.dashboard_for_owner_or_404(request.user, dashboard_id), shared=False)


@login_required
@require_POST
def dashboard_share(request, dashboard_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    secret = services.share_create(dashboard=dashboard)
    url = f"{settings.SITE_URL}{reverse('shared_dashboard', args=[secret])}"
    request.session[SHARE_SESSION_KEY] = {"dashboard": dashboard.pk, "url": url}
    toast(request, "Read-only link created. Copy it now: it is shown only once. Any earlier link stopped working.")
    return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)


@login_required
@require_POST
def dashboard_unshare(request, dashboard_id):
    dashboard = selectors.dashboard_for_owner_or_404(request.user, dashboard_id)
    services.share_revoke(dashboard=dashboard)
    toast(request, "Link revoked: it no longer opens the dashboard.")
    return redirect("dashboard_detail", dashboard_id=dashboard.dashboard_id)


def _shared(secret):
    return found_or_404(selectors.dashboard_for_share(secret=secret), "dashboard")


@never_cache
@require_GET
def shared_dashboard(request, secret):
    """The read-only page behind a share link: the widgets only, no navigation, no controls."""
    dashboard = _shared(secret)
    response = render(request, "dashboards/shared.html", page_context(dashboard, shared=True, secret=secret))
    response["Referrer-Policy"] = "no-referrer"  # the secret is in the URL: do not leak it onward
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_GET
def shared_refresh(request, secret):
    return _refresh(request, _shared(secret), shared=True, secret=secret)
