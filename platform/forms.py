from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.forms import UserCreationForm
from django.forms.fields import InvalidJSONInput, JSONString
from django.urls import reverse
from django.utils.html import format_html

from platform.login import password_check
from platform.payloads import PayloadError, json_parse
from platform.validators import DESCRIPTION_MAX


def description_field(**kwargs):
    """Every object's description: a short textarea, at most DESCRIPTION_MAX, as the APIs take it."""
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=DESCRIPTION_MAX,
                           **kwargs)


def bounds_errors(message):
    """One message, in the form's words, for a number out of its bounds or not a number at all
    (Django's "Ensure this value is greater than or equal to 1." names no field and no way out)."""
    return dict.fromkeys(("min_value", "max_value", "invalid"), message)


def make_first_hint(what, url_name, then):
    """Help for a picker a new user finds empty: what to make first, where, then what to do."""
    return format_html('You have no {} yet: <a href="{}">create one</a>, then {}.', what, reverse(url_name), then)


def json_form_value(text):
    """JSON typed into a web form, by the same rules as the API's bodies (platform/payloads.py):
    NaN, 1e400, a 5,000-digit number, deep nesting or a NUL are a form error saying what to fix."""
    try:
        return json_parse(text, where="the value")
    except PayloadError as exc:
        raise forms.ValidationError(str(exc).replace("Malformed JSON: ", "Not valid JSON: ", 1)) from None


class CheckedJSONField(forms.JSONField):
    """Django's JSON form field by the API's rules: NaN, 1e999, a 400-digit integer, a NUL or an
    unpaired surrogate, nesting too deep are a form error saying what to fix. Django's own parses
    with json.loads, and the database, Python's recursion limit or the page's encoding then failed
    with a 500 (the admin's JSON fields: platform/admin.py CheckedJSON)."""

    def to_python(self, value):
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        value = json_form_value(value)
        return JSONString(value) if isinstance(value, str) else value

    def bound_data(self, data, initial):
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        try:
            return json_parse(data, where="the value")
        except PayloadError:
            return InvalidJSONInput(data)  # shown again as typed, beside its error


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional.")

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # the stubs leave out Django's Meta
        fields = ("username", "email")


class AccountEmailForm(forms.ModelForm):
    """A signed-in user's e-mail address, where a password reset is sent. Their password is asked
    too: with only a stolen session, whoever changed the address could then reset the password and
    own the account. Not unique among users, as in Django (a reset mails each account of the
    address), and saying "taken" would tell anyone signed in whose address it is."""

    email = forms.EmailField(required=False, label="E-mail address", max_length=254,
                             help_text="Where a password reset is sent, and the old address is told of a change. Leave empty for none.",
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label="Current password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    class Meta:
        model = get_user_model()
        fields = ("email",)

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_email(self):
        return BaseUserManager.normalize_email(self.cleaned_data["email"])

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_check(self.request, self.instance, password,
                       forms.ValidationError("Your password was entered incorrectly.", code="password_incorrect"))
        return password


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API", help_text="What the token is for, e.g. 'grafana' or 'laptop'.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        # Two tokens of one name cannot be told apart when one of them is to be revoked.
        name = self.cleaned_data["name"]
        if self.user.access_tokens.filter(name__iexact=name).exists():
            raise forms.ValidationError(f"You already have a token named {name}: give this one a name of its own.")
        return name
