from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.forms.fields import InvalidJSONInput, JSONString
from django.urls import reverse
from django.utils.html import format_html

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
