from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponseBadRequest, HttpResponseBase, HttpResponseRedirect
from django.utils.deprecation import MiddlewareMixin

from platform.clock import epoch_ms_text
from platform.forms import CheckedJSONField
from platform.models import AccessToken, AccountMail
from platform.validators import DESCRIPTION_MAX


class CheckedJSON:
    """For every ModelAdmin and inline with a JSON field: it is checked by the API's rules
    (platform/forms.py CheckedJSONField), a form error instead of a 500."""

    formfield_overrides: ClassVar[Mapping[type[models.Field], Mapping[str, Any]]] = {
        models.JSONField: {"form_class": CheckedJSONField}}


class Written:
    """For rows the platform writes (records, the inbox, deliveries, status changes): viewed and
    deleted here, never added or edited by hand. A hand-made row would say something that did not
    happen (a device's "disconnected" while it is connected) or work on nothing (a delivery's lane)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FixedOnChange:
    """For objects whose owner and id are fixed once made (`fixed_on_change`, read-only when
    changing): the API refuses to change them ("create a new device instead"). The id is in the
    device's callback URL, in dashboards' widgets and other objects' settings; and another owner
    would leave the object's bucket, endpoint or applications someone else's."""

    fixed_on_change: ClassVar[list[str]] = []

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]  # a ModelAdmin's
        return fields + [name for name in self.fixed_on_change if name not in fields] if obj is not None else fields


class CappedDescription:
    """For objects with a description: at most DESCRIPTION_MAX characters, as in the API and the
    web forms (the admin took any length, shown on every list that has it)."""

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "description":
            kwargs["max_length"] = DESCRIPTION_MAX
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]  # a ModelAdmin's


@admin.display(description="time (UTC)", ordering="ts")
def ts_shown(obj: Any) -> str:
    """An epoch-milliseconds `ts` as a date a person reads."""
    return epoch_ms_text(obj.ts)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "key", "created", "last_used"]
    search_fields = ["name", "user__username", "key"]
    # The user is whom the token signs in as: given to another, it would sign that one in.
    readonly_fields = ["user", "key", "created", "last_used"]
    exclude = ["token_hash"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's secret is shown once, when it is made: under Access tokens in the web UI or by
        # `manage.py create_access_token`. One added here could never be used.
        return False


@admin.register(AccountMail)
class AccountMailAdmin(Written, admin.ModelAdmin):
    """Password resets and notices waiting for the worker, or for SMTP to answer again (the last
    error says why): an operator answering "my reset e-mail never came" looks here and in the
    worker's log. Sent ones are gone."""

    list_display = ["id", "kind", "email", "user", "attempts", "next_attempt_at", "last_error", "created"]
    list_filter = ["kind"]
    search_fields = ["email", "user__username"]


class AdminGuard(MiddlewareMixin):
    """What Django's admin passes to the database unchecked, answered before its view runs.

    - A NUL character in the query string (a list filter's value, the autocomplete's term): PostgreSQL
      refuses it in a query, a 500. A 400 saying so.
    - An action's selected ids that are not ids of that model ("abc" for a device, "1" for a
      connection, whose ids are UUIDs): Django filters by them as given, a 500. The changelist
      again with a warning, as Django does when nothing is selected; nothing is changed."""

    def process_view(self, request: HttpRequest, view_func: Callable[..., HttpResponseBase],
                     view_args: tuple[Any, ...], view_kwargs: dict[str, Any]) -> HttpResponseBase | None:
        model_admin = getattr(view_func, "model_admin", None)
        if model_admin is None and not hasattr(view_func, "admin_site"):
            return None
        if any("\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest("The query string has a NUL character (%00): remove it.",
                                          content_type="text/plain; charset=utf-8")
        if model_admin is not None and request.method == "POST" and "action" in request.POST:
            meta = model_admin.model._meta
            for selected in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                try:
                    meta.pk.to_python(selected)
                except ValidationError:
                    valid = False
                else:
                    valid = "\x00" not in selected
                if not valid:
                    model_admin.message_user(
                        request, f"“{selected}” is not the id of one of the {meta.verbose_name_plural}: "
                                 "select them from the list. No items have been changed.", messages.WARNING)
                    return HttpResponseRedirect(request.get_full_path())
        return None
