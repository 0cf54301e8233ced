from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    email = forms.EmailField(required=False, help_text="Optional.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class AccessTokenForm(forms.Form):
    name = forms.CharField(max_length=100, initial="API", help_text="What the token is for, e.g. 'grafana' or 'laptop'.")
