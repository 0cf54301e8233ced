from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize

from alarms.models import MAX_EMAIL, Alarm, AlarmEmail, AlarmEvent, Rule, RuleState
from alarms.services import AlarmActionError, alarm_acknowledge, alarm_clear, rule_check
from platform.admin import CappedDescription, CheckedJSON, FixedOnChange, Written

# Where rule_check's error keys (the API's dotted paths) belong in the admin's form.
RULE_ERROR_FIELDS = {"source.type": "source_type", "source.bucket": "bucket", "source.property": "property",
                     "source.field": "field", "source.minutes": "silence_minutes", "severity": "severity",
                     "condition": "condition", "normalize": "normalize", "confirm": "confirm", "devices": "devices",
                     "notify.endpoints": "endpoints", "notify.emails": "emails", "reminder.minutes": "reminder_minutes"}


class RuleAdminForm(forms.ModelForm):
    """The rule goes through the API's own check (alarms/services.py rule_check) for its owner, so
    the admin cannot store a rule that evaluation and the rule pages fail on (a condition that is
    not one, e-mails that are not addresses) or one watching another user's bucket or devices."""

    class Meta:
        model = Rule
        fields = "__all__"

    def clean_emails(self):
        emails = self.cleaned_data.get("emails")
        if emails is None:
            return []
        checker = forms.EmailField(max_length=MAX_EMAIL)
        if not isinstance(emails, list):
            raise ValidationError('Give a list of e-mail addresses, e.g. ["ops@example.com"], or [].')
        for address in emails:
            try:
                checker.clean(address if isinstance(address, str) else None)
            except ValidationError:
                raise ValidationError(f"{address!r} is not an e-mail address (of at most {MAX_EMAIL} "
                                      "characters).") from None
        return emails

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        owner = self.instance.owner if self.instance.pk else cleaned.get("owner")
        if owner is None or self.errors:  # the fields show their own errors first
            return cleaned
        spec = {name: cleaned.get(name) for name in RULE_ERROR_FIELDS.values() if name != "devices"}
        spec["devices"] = None if cleaned.get("all_devices") else list(cleaned.get("devices") or [])
        try:
            spec = rule_check(owner=owner, spec=spec)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                field = RULE_ERROR_FIELDS.get(key)  # "condition.max" goes under condition, saying so
                for message in messages:
                    shown = message if field else f"{key}: {message}" if key else message
                    where = field or RULE_ERROR_FIELDS.get(key.split(".")[0])
                    self.add_error(where if where in self.fields else None, shown)
            return cleaned
        # What the check made consistent (a status rule's confirm set to immediate, a condition's numbers
        # normalised) is what is saved, as through the API.
        for name in ("bucket", "property", "field", "silence_minutes", "condition", "normalize", "confirm"):
            cleaned[name] = spec[name]
        return cleaned


@admin.register(Rule)
class RuleAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = RuleAdminForm
    fixed_on_change = ["owner", "rule_id"]
    list_display = ["rule_id", "owner", "name", "source_type", "severity", "enabled", "latch"]
    list_filter = ["source_type", "severity", "enabled"]
    search_fields = ["rule_id", "name", "owner__username"]
    filter_horizontal = ["devices", "endpoints"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # as rule_update: what counted towards a confirmation under the old settings does not now
            RuleState.objects.filter(rule=obj).delete()


class EventInline(CheckedJSON, admin.TabularInline):
    model = AlarmEvent
    extra = 0
    readonly_fields = ["ts", "type", "detail", "delivery", "email"]


def _alarms_act(model_admin, request, queryset, act, verb):
    """Each selected alarm through the service, as from its page (an event names who did it);
    those whose state does not allow it are counted, not an error page."""
    done, skipped = 0, 0
    for alarm in queryset:
        try:
            act(alarm=alarm, by=request.user.get_username())
            done += 1
        except AlarmActionError:
            skipped += 1
    model_admin.message_user(request, f"{done} alarm{pluralize(done)} {verb}" + (
        f"; {skipped} left as they were: their state does not allow it." if skipped else "."))


@admin.register(Alarm)
class AlarmAdmin(Written, CheckedJSON, admin.ModelAdmin):
    """Viewed, acknowledged and cleared here, not edited: a state or date set by hand would skip
    the alarm's events and notifications, and a rule or device changed would leave an alarm about
    something that did not happen."""

    list_display = ["id", "owner", "rule", "device", "severity", "state", "value", "activated"]
    list_filter = ["state", "severity"]
    list_select_related = ["owner", "rule", "device"]
    search_fields = ["rule__rule_id", "device__device_id", "owner__username"]
    inlines = [EventInline]
    show_full_result_count = False
    actions = ["acknowledge", "clear"]

    @admin.action(description="Acknowledge the selected alarms")
    def acknowledge(self, request, queryset):
        _alarms_act(self, request, queryset, alarm_acknowledge, "acknowledged")

    @admin.action(description="Clear the selected alarms")
    def clear(self, request, queryset):
        _alarms_act(self, request, queryset, alarm_clear, "cleared")


@admin.register(AlarmEmail)
class AlarmEmailAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "alarm", "kind", "to", "state", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["state", "kind"]


@admin.register(RuleState)
class RuleStateAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["rule", "device", "count", "since_ts", "last_ts"]
