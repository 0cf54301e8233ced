"""The device pages. Views are adapters: find the device through its owner (404 for anyone
else), validate with a form, call a service, render the page or the part htmx asked for."""
import json
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from devices import selectors, services
from devices.forms import AttachApplicationForm, DeviceCreateForm, DeviceSettingsForm, DownlinkForm, PropertyForm
from endpoints.selectors import connection_for_owner_or_404
from platform.lan import reachable_from_this_computer_only
from platform.web import render_page, toast

# A new or regenerated callback token waits here for the one page view that shows it.
TOKEN_SESSION_KEY = "device_token_once"


@login_required
def device_list(request):
    devices = selectors.devices_for_owner(request.user)
    return render_page(request, "devices/list.html", {"devices": devices}, partials=("device-rows",))


@login_required
def device_create(request):
    form = DeviceCreateForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            device, token = services.device_create(owner=request.user, device_id=data["device_id"],
                                                   name=data["name"], description=data["description"])
        except ValidationError as exc:  # a concurrent create of the same id won the race
            form.add_error("device_id", " ".join(m for messages in exc.message_dict.values() for m in messages))
            return render_page(request, "devices/create.html", {"form": form}, status=400)
        request.session[TOKEN_SESSION_KEY] = {"device": device.pk, "token": token}
        toast(request, f"Device {device.device_id} created. Copy its token now: it is shown only once.")
        return redirect("device_detail", device_id=device.device_id)
    return render_page(request, "devices/create.html", {"form": form}, status=400 if form.errors else 200)


def callback_url(device):
    return f"{settings.SITE_URL}/v3/users/{device.owner.username}/devices/{device.device_id}/callback/data"


def detail_context(request, device, **overrides):
    token = None
    if not request.htmx:  # polls must not eat the token before the page shows it
        once = request.session.pop(TOKEN_SESSION_KEY, None)
        if once and once.get("device") == device.pk:
            token = once["token"]
    context = {
        "device": device,
        "token": token,
        "callback_url": callback_url(device),
        # SITE_URL on a loopback address: the page says how to give devices a URL they can reach.
        "site_url_local": reachable_from_this_computer_only(urlsplit(settings.SITE_URL).hostname),
        "snippet_token": token or "YOUR_DEVICE_TOKEN",
        "example": json.dumps({"temperature": 21.5, "humidity": 40}),
        "messages_list": device.messages.all()[:20],
        "properties": device.properties.all(),
        "downlinks": selectors.downlinks_for_page(device, 20),
        "downlinks_pending": device.downlinks.filter(delivered_at__isnull=True).count(),
        "status_changes": device.status_changes.all()[:10],
        "applications": device.applications.all(),
        "settings_form": DeviceSettingsForm(instance=device),
        "property_form": PropertyForm(),
        "downlink_form": DownlinkForm(),
        "attach_form": AttachApplicationForm(device=device),
    }
    context.update(overrides)
    return context


DETAIL_PARTS = ("messages", "stats", "properties", "downlinks", "applications", "settings", "property-list",
                "downlink-list")


@login_required
def device_detail(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    return render_page(request, "devices/detail.html", detail_context(request, device), partials=DETAIL_PARTS)


def _detail(request, device, status=200, **overrides):
    """Re-renders after a POST: the part htmx targets, or the whole page with the form's errors."""
    return render_page(request, "devices/detail.html", detail_context(request, device, **overrides),
                       partials=DETAIL_PARTS, status=status)

def _saved(request, device, message):
    """After a change: a toast, then the device page (htmx swaps it in place) or a redirect to it."""
    toast(request, message)
    if request.htmx:
        return _detail(request, device)
    return redirect("device_detail", device_id=device.device_id)



@login_required
@require_POST
def device_settings(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    form = DeviceSettingsForm(request.POST, instance=device)
    if not form.is_valid():
        return _detail(request, device, status=400, settings_form=form)
    data = form.cleaned_data
    with transaction.atomic():
        services.device_update(device=device, name=data["name"], description=data["description"],
                               enabled=data["enabled"])
        services.callback_settings_set(device=device, write_bucket=data["write_bucket"],
                                       call_endpoint=data["call_endpoint"], set_property=data["set_property"],
                                       send_property=data["send_property"], timeout=data["timeout"])
    return _saved(request, device, "Callback settings saved.")


@login_required
@require_POST
def device_token(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    token = services.device_token_regenerate(device=device)
    request.session[TOKEN_SESSION_KEY] = {"device": device.pk, "token": token}
    toast(request, "New callback token created; the old one no longer works. Copy it now.")
    return redirect("device_detail", device_id=device.device_id)


@login_required
@require_POST
def device_property(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    form = PropertyForm(request.POST)
    if not form.is_valid():
        return _detail(request, device, status=400, property_form=form)
    services.property_set(device_id=device.pk, name=form.cleaned_data["name"], value=form.cleaned_data["value"])
    return _saved(request, device, f"Property {form.cleaned_data['name']} saved.")


@login_required
@require_POST
def device_property_delete(request, device_id, name):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    prop = selectors.property_for_device_or_404(device, name)
    services.property_delete(prop=prop)
    return _saved(request, device, f"Property {name} deleted.")


@login_required
@require_POST
def device_downlink(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    form = DownlinkForm(request.POST)
    if not form.is_valid():
        return _detail(request, device, status=400, downlink_form=form)
    services.downlink_queue(device=device, payload=form.cleaned_data["payload"], source="web")
    return _saved(request, device, "Downlink queued: the device gets it in the answer to its next callback.")


@login_required
@require_POST
def device_application_add(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    form = AttachApplicationForm(request.POST, device=device)
    if not form.is_valid():
        return _detail(request, device, status=400, attach_form=form)
    services.device_update(device=device, applications=[*device.applications.all(), form.cleaned_data["connection"]])
    return _saved(request, device, f"Application {form.cleaned_data['connection'].name} added to {device.device_id}.")


@login_required
@require_POST
def device_application_remove(request, device_id, connection_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    connection = connection_for_owner_or_404(request.user, connection_id)
    services.device_update(device=device, applications=device.applications.exclude(pk=connection.pk))
    return _saved(request, device, f"Application {connection.name} removed from {device.device_id}.")


@login_required
@require_POST
def device_delete(request, device_id):
    device = selectors.device_for_owner_or_404(request.user, device_id)
    services.device_delete(device=device)
    toast(request, f"Device {device_id} deleted.")
    return redirect("device_list")
