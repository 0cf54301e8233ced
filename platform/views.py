from django.conf import settings
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from devices.models import Device, Message
from endpoints.models import Connection, Delivery
from platform.clock import now_ms
from platform.forms import AccessTokenForm, SignUpForm
from platform.login import AccountEmailForm, PasswordChangeForm, throttled
from platform.models import AccessToken
from platform.selectors import access_token_for_owner_or_404
from platform.web import render_page, toast


@never_cache
def healthz(request):
    """200 when the database and the broker answer; 503 naming what is down."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    status = 200 if all(v == "ok" for v in checks.values()) else 503
    return JsonResponse(checks, status=status)


def _check_database():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # noqa: BLE001  whatever the failure, the answer is "down"
        return f"down: {exc.__class__.__name__}"


def _check_broker():
    from platform.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001  whatever the failure, the answer is "down"
        return f"down: {exc.__class__.__name__}"


@login_required
def home(request):
    """The dashboard: what needs attention first."""
    user = request.user
    devices = Device.objects.filter(owner=user)
    context = {
        "devices_total": devices.count(),
        "devices_connected": devices.filter(connected=True).count(),
        "messages_last_hour": Message.objects.filter(device__owner=user, ts__gte=now_ms() - 3600_000).count(),
        # Failing = given up, or still retrying after at least one failed attempt (test calls say
        # how a person's try went, not how deliveries go).
        "failing_deliveries": Delivery.objects.filter(owner=user, test=False).filter(
            Q(state=Delivery.FAILED) | Q(state=Delivery.PENDING, attempts__gt=0)).count(),
        "applications_not_opened": Connection.objects.filter(owner=user).exclude(state=Connection.OPENED),
        "recent_devices": devices.order_by("-last_seen", "device_id")[:5],
    }
    return render_page(request, "platform/home.html", context, partials=("dashboard",))


def signup(request):
    if not settings.REGISTRATION_OPEN:
        raise Http404("Registration is closed.")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        toast(request, f"Welcome, {user.username}! Start by creating a device.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


def _account_page(request, email_form=None, password_form=None):
    if email_form is None:
        email_form = AccountEmailForm(instance=request.user, request=request)
    if password_form is None:
        password_form = PasswordChangeForm(request.user, request=request)
    forms = (email_form, password_form)
    status = 429 if any(throttled(f) for f in forms) else 400 if any(f.errors for f in forms) else 200
    return render_page(request, "platform/account.html", {"email_form": email_form, "password_form": password_form},
                       status=status)


@login_required
def account(request):
    return _account_page(request)


@login_required
@require_POST
def account_email(request):
    before = request.user.email
    form = AccountEmailForm(request.POST, instance=request.user, request=request)
    if not form.is_valid():
        return _account_page(request, email_form=form)
    user = form.save(commit=False)
    if user.email == before:
        toast(request, f"E-mail address unchanged: it is {before}." if before else "E-mail address unchanged: none.")
        return redirect("account")
    user.save(update_fields=["email"])  # the one field: a full save would write back the whole row as read
    toast(request, f"E-mail address changed to {user.email}." if user.email
          else "E-mail address removed: a password reset has nowhere to go now.")
    return redirect("account")


@login_required
@require_POST
def account_password(request):
    form = PasswordChangeForm(request.user, request.POST, request=request)
    if not form.is_valid():
        return _account_page(request, password_form=form)
    user = form.save()
    # The session hash follows the password: this session stays signed in, every other one of
    # this user's (another browser, a stolen cookie) is signed out on its next request.
    update_session_auth_hash(request, user)
    toast(request, "Password changed. Your other sessions are signed out.")
    return redirect("account")


TOKEN_SESSION_KEY = "access_token_once"


@login_required
def token_list(request):
    form = AccessTokenForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        # AccessToken.issue is the model's own service: it hashes and returns the plain token once.
        row, plain = AccessToken.issue(user=request.user, name=form.cleaned_data["name"])
        request.session[TOKEN_SESSION_KEY] = {"id": row.pk, "token": plain}
        toast(request, f"Access token {row.name} created. Copy it now: it is shown only once.")
        return redirect("token_list")
    new_token = request.session.pop(TOKEN_SESSION_KEY, None)
    context = {"tokens": AccessToken.objects.filter(user=request.user), "form": form, "new_token": new_token,
               "site_url": settings.SITE_URL}
    return render_page(request, "platform/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request, pk):
    token = access_token_for_owner_or_404(request.user, pk)
    token.delete()
    toast(request, f"Access token {token} revoked: it no longer works.")
    return redirect("token_list")
