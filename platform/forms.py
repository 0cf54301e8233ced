from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.forms.fields import InvalidJSONInput, JSONString

from platform.payloads import PayloadError, json_parse


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
