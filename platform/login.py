"""Sign-in with a throttle on failed attempts, for the login page and the admin alike.

Failed sign-ins are counted in the shared cache per account (the username typed) and per
address (REMOTE_ADDR), over a window of LOGIN_THROTTLE_SECONDS. Past either limit the form refuses
every attempt, the right password included, until the window ends, and says so; a successful
sign-in clears its account's count. Counting per account stops a password being guessed from
many addresses; per address stops one client trying many accounts. The cache being down lets
sign-ins through (logged) rather than locking everyone out."""
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)
THROTTLED = "throttled"


def _keys(request: HttpRequest | None, username: str | None) -> tuple[str, str]:
    account = hashlib.sha256((username or "").strip().lower().encode()).hexdigest()[:32]
    address = (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"
    return f"login:fail:account:{account}", f"login:fail:address:{address}"


def login_blocked(request: HttpRequest | None, username: str | None) -> bool:
    """True when the account or the address is over its limit of failed sign-ins."""
    account_key, address_key = _keys(request, username)
    try:
        counts = cache.get_many([account_key, address_key])
    except Exception:
        logger.warning("login throttle: cache unavailable; not throttling", exc_info=True)
        return False
    return (counts.get(account_key, 0) >= settings.LOGIN_FAILURES_PER_ACCOUNT
            or counts.get(address_key, 0) >= settings.LOGIN_FAILURES_PER_ADDRESS)


def login_failed(request: HttpRequest | None, username: str | None) -> None:
    for key in _keys(request, username):
        try:
            cache.add(key, 0, timeout=settings.LOGIN_THROTTLE_SECONDS)
            cache.incr(key)
        except ValueError:  # expired between add and incr: start again
            cache.add(key, 1, timeout=settings.LOGIN_THROTTLE_SECONDS)
        except Exception:
            logger.warning("login throttle: could not count a failed sign-in", exc_info=True)
            return


def login_succeeded(request: HttpRequest | None, username: str | None) -> None:
    try:
        cache.delete(_keys(request, username)[0])
    except Exception:
        logger.warning("login throttle: could not clear a count", exc_info=True)


# The mixin's methods use the form it is mixed into (data, request, clean); type checkers see that base.
if TYPE_CHECKING:
    _LoginForm = AuthenticationForm
else:
    _LoginForm = object


class ThrottledLoginMixin(_LoginForm):
    def clean(self) -> dict[str, Any]:
        username = self.data.get("username") if hasattr(self.data, "get") else None
        if login_blocked(self.request, username):
            minutes = max(1, settings.LOGIN_THROTTLE_SECONDS // 60)
            raise ValidationError(
                f"Too many failed sign-ins for this account or from your address. Wait {minutes} minutes, "
                "then try again (an administrator can reset a password meanwhile).", code=THROTTLED)
        try:
            data = super().clean()
        except ValidationError:
            login_failed(self.request, username)
            raise
        login_succeeded(self.request, username)
        return data


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    """The sign-in page; a throttled attempt answers 429 Too Many Requests."""

    authentication_form = LoginForm

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if any(e.code == THROTTLED for e in form.errors.as_data().get("__all__", [])):
            response.status_code = 429
        return response
