from django.contrib import admin

from buckets.models import Bucket, Record
from platform.admin import CheckedJSON, Written, ts_shown


@admin.register(Bucket)
class BucketAdmin(CheckedJSON, admin.ModelAdmin):
    list_display = ["bucket_id", "owner", "name", "enabled", "retention_period", "retention_unit", "skipped_writes"]
    list_filter = ["enabled"]
    search_fields = ["bucket_id", "name", "owner__username"]


@admin.register(Record)
class RecordAdmin(Written, CheckedJSON, admin.ModelAdmin):
    list_display = ["id", "bucket", ts_shown, "val", "message_id", "index"]
    list_filter = ["bucket"]
    list_select_related = ["bucket"]
    # Counting millions of rows for the paginator would make the page crawl.
    show_full_result_count = False
