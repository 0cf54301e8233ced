"""Throttles on passwords: sign-in (the login page and the admin alike), a signed-in user's
password check (changing their password or e-mail address) and password reset requests.

Failed sign-ins are counted in the shared cache per account (the username typed) and per
address (REMOTE_ADDR), over a window of LOGIN_THROTTLE_SECONDS. Past either limit the form refuses
every attempt, the right password included, until the window ends, and says so; a successful
sign-in clears its account's count. Counting per account stops a password being guessed from
many addresses; per address stops one client trying many accounts. A wrong password on the
account page counts the same, so a stolen session cannot guess the password any faster.

Password reset requests are counted per address asked for and per requesting address, whether
or not an account has that address (counting only the mails sent would tell which have one).

The cache being down lets sign-ins and requests through (logged) rather than locking everyone out."""
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.forms import CharField, EmailField, EmailInput, Form, ModelForm, PasswordInput
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from platform.account_mail import password_changed, reset_request

logger = logging.getLogger(__name__)
THROTTLED = "throttled"
PASSWORD_RESET_WINDOW_SECONDS = 3600


def _hashed(name: str | None) -> str:
    """A username or e-mail address as a cache key names it: case and outer spaces do not count."""
    return hashlib.sha256((name or "").strip().lower().encode()).hexdigest()[:32]


def _address(request: HttpRequest | None) -> str:
    return (request.META.get("REMOTE_ADDR") or "unknown") if request is not None else "unknown"


def _keys(request: HttpRequest | None, username: str | None) -> tuple[str, str]:
    return f"login:fail:account:{_hashed(username)}", f"login:fail:address:{_address(request)}"


def _over(limits: dict[str, int], what: str) -> bool:
    """True when a key's count has reached its limit; False when the cache cannot say (logged)."""
    try:
        counts = cache.get_many(list(limits))
    except Exception:
        logger.warning("%s throttle: cache unavailable; not throttling", what, exc_info=True)
        return False
    return any(counts.get(key, 0) >= limit for key, limit in limits.items())


def _count(keys: tuple[str, ...], timeout: int, what: str) -> None:
    for key in keys:
        try:
            cache.add(key, 0, timeout=timeout)
            cache.incr(key)
        except ValueError:  # expired between add and incr: start again
            cache.add(key, 1, timeout=timeout)
        except Exception:
            logger.warning("%s throttle: could not count", what, exc_info=True)
            return


def login_blocked(request: HttpRequest | None, username: str | None) -> bool:
    """True when the account or the address is over its limit of failed sign-ins."""
    account_key, address_key = _keys(request, username)
    return _over({account_key: settings.LOGIN_FAILURES_PER_ACCOUNT,
                  address_key: settings.LOGIN_FAILURES_PER_ADDRESS}, "login")


def login_failed(request: HttpRequest | None, username: str | None) -> None:
    _count(_keys(request, username), settings.LOGIN_THROTTLE_SECONDS, "login")


def _login_throttled(what: str, meanwhile: str) -> ValidationError:
    minutes = max(1, settings.LOGIN_THROTTLE_SECONDS // 60)
    return ValidationError(f"{what}. Wait {minutes} minutes, then try again, {meanwhile}.", code=THROTTLED)


def throttled(form: Form) -> bool:
    """Whether the form was refused by a throttle here (its view then answers 429)."""
    return any(e.code == THROTTLED for errors in form.errors.as_data().values() for e in errors)


def password_check(request: HttpRequest | None, user: AbstractBaseUser, password: str, wrong: ValidationError) -> None:
    """A signed-in user's password typed again (the account page), under the sign-in throttle: a
    wrong one counts as a failed sign-in of the account, and past the limit even the right one is
    refused. A stolen session must not be a way to guess the password at full speed."""
    username = user.get_username()
    if login_blocked(request, username):
        raise _login_throttled("Too many wrong passwords for this account or from your address (here and when "
                               "signing in)", "or sign out and reset your password")
    if not user.check_password(password):
        login_failed(request, username)
        raise wrong
    login_succeeded(request, username)


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
            raise _login_throttled("Too many failed sign-ins for this account or from your address",
                                   "or reset your password (\"Forgot your password?\")")
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
        if throttled(form):
            response.status_code = 429
        return response


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's (old password, the new one twice, AUTH_PASSWORD_VALIDATORS), the old password
    checked under the sign-in throttle (password_check)."""

    def __init__(self, user: AbstractBaseUser, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request
        self.fields["old_password"].widget.attrs.pop("autofocus", None)  # one form of two on the account page
        self.fields["old_password"].label = "Current password"  # as the e-mail form beside it asks

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        password_check(self.request, self.user, old_password,
                       ValidationError(self.error_messages["password_incorrect"], code="password_incorrect"))
        return old_password


class AccountEmailForm(ModelForm):
    """A signed-in user's e-mail address, where a password reset is sent. Their password is asked
    too: with only a stolen session, whoever changed the address could then reset the password and
    own the account. Not unique among users, as in Django (a reset mails each account of the
    address), and saying "taken" would tell anyone signed in whose address it is."""

    email = EmailField(required=False, label="E-mail address", max_length=254,
                       help_text="Where a password reset is sent, and the old address is told of a change. "
                                 "Leave empty for none.",
                       widget=EmailInput(attrs={"autocomplete": "email"}))
    password = CharField(label="Current password", strip=False,
                         widget=PasswordInput(attrs={"autocomplete": "current-password"}))

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_email(self) -> str:
        return BaseUserManager.normalize_email(self.cleaned_data["email"])

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        password_check(self.request, self.instance, password,
                       ValidationError("Your password was entered incorrectly.", code="password_incorrect"))
        return password


def _reset_keys(request: HttpRequest | None, email: str) -> tuple[str, str]:
    return f"reset:email:{_hashed(email)}", f"reset:address:{_address(request)}"


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, with requests throttled per address asked for and per requesting address: each
    request counts, whether or not an account has that address, so the refusal says nothing
    about accounts either."""

    def __init__(self, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request = request
        self.fields["email"].label = "E-mail address"  # as on the account page

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        email_key, address_key = _reset_keys(self.request, email)
        if _over({email_key: settings.PASSWORD_RESETS_PER_EMAIL, address_key: settings.PASSWORD_RESETS_PER_ADDRESS},
                 "password reset"):
            raise ValidationError("Too many password reset requests for this e-mail address or from your address. "
                                  "Wait an hour, then try again.", code=THROTTLED)
        _count((email_key, address_key), PASSWORD_RESET_WINDOW_SECONDS, "password reset")
        return email


class PasswordResetView(auth_views.PasswordResetView):
    """"Forgot your password?": the same answer, after the same work, whether or not an account has
    the address: the request is queued and a worker mails the link (platform/account_mail.py). A
    throttled request answers 429."""

    form_class = PasswordResetForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        reset_request(form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: auth_forms.PasswordResetForm) -> HttpResponse:
        response = super().form_invalid(form)
        if throttled(form):
            response.status_code = 429
        return response


def password_set(sender: Any, instance: AbstractBaseUser, created: bool = False, **kwargs: Any) -> None:
    """Every password change, whoever makes it (the account page, a reset link, an operator in the
    admin or with `manage.py changepassword`): the account's address is told, and its sign-in
    lockout is lifted (failed sign-ins, someone else's guesses likely, need not keep the owner out
    with the new password). Django marks a password set with set_password until the save that
    stores it; a hash upgraded at sign-in is not marked, and a new account is not a change.
    Connected to the user model's post_save in PlatformConfig.ready()."""
    if created or getattr(instance, "_password", None) is None:
        return
    password_changed(instance)
    login_succeeded(None, instance.get_username())
