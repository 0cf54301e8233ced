from django import forms
from django.contrib.auth.forms import UserCreationForm

from platform.payloads import PayloadError, json_parse


def json_form_value(text):
    """JSON typed into a web form, by the same rules as the API's bodies (platform/payloads.py):
    NaN, 1e400, a 5,000-digit number, deep nesting or a NUL are a form error saying what to fix."""
    try:
        return json_parse(text, where="the value")
    except PayloadError as exc:
        raise forms.ValidationError(str(exc).replace("Malformed JSON: ", "Not valid JSON: ", 1)) from None


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional.")

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # the stubs leave out Django's Meta
        fields = ("username", "email")


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API", help_text="What the token is for, e.g. 'grafana' or 'laptop'.")
