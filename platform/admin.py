from collections.abc import Mapping
from typing import Any, ClassVar

from django.contrib import admin
from django.db import models

from platform.forms import CheckedJSONField
from platform.models import AccessToken


class CheckedJSON:
    """For every ModelAdmin and inline with a JSON field: it is checked by the API's rules
    (platform/forms.py CheckedJSONField), a form error instead of a 500."""

    formfield_overrides: ClassVar[Mapping[type[models.Field], Mapping[str, Any]]] = {
        models.JSONField: {"form_class": CheckedJSONField}}


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key", "created", "last_used"]
    search_fields = ["name", "user__username", "key"]
    readonly_fields = ["key", "created", "last_used"]
    exclude = ["token_hash"]
