from django import forms
from django.contrib import admin

from buckets.models import Bucket, Record
from platform.admin import CappedDescription, CheckedJSON, FixedOnChange, Written, ts_shown

RETENTION_MAX = 1_000_000  # the API's and the page's bound (buckets/serializers.py, buckets/forms.py)


class BucketAdminForm(forms.ModelForm):
    """The retention by the API's rules: a period of 0 deleted all of the bucket's records at the
    next hourly run, one too large for the clock stopped that run for every bucket after it, and a
    period without a unit kept everything without a word."""

    class Meta:
        model = Bucket
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        period, unit = self.cleaned_data.get("retention_period"), self.cleaned_data.get("retention_unit")
        if period is not None and not 1 <= period <= RETENTION_MAX:
            self.add_error("retention_period", f"Give a whole number from 1 to {RETENTION_MAX:,} (of the unit), "
                                               "or leave it empty to keep everything.")
        elif period is not None and not unit:
            self.add_error("retention_unit", "Choose the unit of the retention period.")
        elif period is None and unit:
            self.add_error("retention_period", "Give the retention period in that unit, or leave the unit empty "
                                               "to keep everything.")
        return cleaned


@admin.register(Bucket)
class BucketAdmin(FixedOnChange, CappedDescription, CheckedJSON, admin.ModelAdmin):
    form = BucketAdminForm
    list_display = ["bucket_id", "owner", "name", "enabled", "retention_period", "retention_unit", "skipped_writes"]
    list_filter = ["enabled"]
    search_fields = ["bucket_id", "name", "owner__username"]
    fixed_on_change = ["owner", "bucket_id"]


@admin.register(Record)
class RecordAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "bucket", ts_shown, "val", "message_id", "index"]
    list_filter = ["bucket"]
    list_select_related = ["bucket"]
    # Counting millions of rows for the paginator would make the page crawl.
    show_full_result_count = False
