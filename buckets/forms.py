from django import forms

from buckets.models import Bucket
from platform.forms import bounds_errors, description_field
from platform.validators import id_validator


class BucketForm(forms.Form):
    bucket_id = forms.CharField(label="Bucket id", max_length=64, validators=[id_validator],
                                help_text="Used in the API and in device settings: letters, digits, '_' or '-'.")
    name = forms.CharField(max_length=200, required=False)
    description = description_field()
    enabled = forms.BooleanField(required=False, initial=True, help_text="A disabled bucket skips writes.")
    # The API's bound (buckets/serializers.py): larger numbers overflow the database column.
    retention_period = forms.IntegerField(label="Keep data for", min_value=1, max_value=1_000_000, required=False,
                                          help_text="Empty keeps everything.", error_messages=bounds_errors(
                                              "Give a whole number from 1 to 1,000,000 (of the unit beside it), "
                                              "or leave it empty to keep everything."))
    retention_unit = forms.ChoiceField(label="Unit", choices=Bucket.UNITS, initial="days", required=False)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # the id is in URLs and device settings; it does not change
            del self.fields["bucket_id"]

    def retention(self):
        period = self.cleaned_data.get("retention_period")
        return {"period": period, "unit": self.cleaned_data.get("retention_unit") or "days"} if period else None

    @classmethod
    def initial_for(cls, bucket):
        return {"name": bucket.name, "description": bucket.description, "enabled": bucket.enabled,
                "retention_period": bucket.retention_period, "retention_unit": bucket.retention_unit or "days"}


class RangeForm(forms.Form):
    """The data range of a bucket page. `from`/`to` are for the custom range."""

    PRESETS = {"1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000}
    range = forms.ChoiceField(choices=[(k, k) for k in [*PRESETS, "custom"]], required=False, error_messages={
        "invalid_choice": f"'%(value)s' is not a range: use {', '.join([*PRESETS, 'custom'])}."})
    start = forms.DateTimeField(label="From", required=False,
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(label="To", required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    AGG_TYPES = ("mean", "min", "max", "sum", "count", "first", "last")
    agg_type = forms.ChoiceField(label="Aggregate", required=False, choices=[(t, t) for t in AGG_TYPES], error_messages={
        "invalid_choice": f"'%(value)s' is not an aggregate: use {', '.join(AGG_TYPES)}."})
    page = forms.IntegerField(min_value=1, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # "From", "To", as "Aggregate" beside them (no colon)
        super().__init__(*args, **kwargs)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            self.add_error("end", "The end must be after the start.")
        return data
