"""The bucket pages: list, create, edit, and the data page (chart, table, export, clear)."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from buckets import services
from buckets.forms import BucketForm, RangeForm
from buckets.selectors import bucket_for_owner_or_404, buckets_list
from buckets.selectors.chart import chart_points
from buckets.selectors.query import bucket_fields_cached, records_in_range
from platform.clock import ms, now_ms
from platform.web import render_page, toast


@login_required
def bucket_list(request):
    return render_page(request, "buckets/list.html", {"buckets": buckets_list(owner=request.user)})


@login_required
def bucket_create(request):
    form = BucketForm(request.POST or None, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            bucket = services.bucket_create(owner=request.user, bucket_id=data["bucket_id"], name=data["name"],
                                            description=data["description"], enabled=data["enabled"],
                                            retention=form.retention())
        except services.BucketExists as exc:
            form.add_error("bucket_id", str(exc))
        else:
            toast(request, f"Bucket {bucket.bucket_id} created.")
            return redirect("bucket_detail", bucket_id=bucket.bucket_id)
    return render_page(request, "buckets/form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def bucket_edit(request, bucket_id):
    bucket = bucket_for_owner_or_404(request.user, bucket_id)
    form = BucketForm(request.POST or None, editing=True, initial=BucketForm.initial_for(bucket))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.bucket_update(bucket=bucket, name=data["name"], description=data["description"],
                               enabled=data["enabled"], retention=form.retention())
        toast(request, f"Bucket {bucket.bucket_id} saved.")
        return redirect("bucket_detail", bucket_id=bucket.bucket_id)
    return render_page(request, "buckets/form.html", {"form": form, "bucket": bucket},
                       status=400 if form.errors else 200)


def data_range(form):
    """(min_ts, max_ts, label) of the range asked for; the last 24 hours by default. Each field
    counts on its own: a bad aggregate in a shared link does not also lose the range."""
    form.is_valid()
    data = form.cleaned_data
    now = now_ms()
    # A start or an end makes the range custom, whatever `range` says: the form that sets them also
    # carries the current preset, so that changing only the aggregate keeps the range. A bad start
    # or end (or an end before the start) drops the custom range as a whole.
    if (data.get("start") or data.get("end")) and not ({"start", "end"} & form.errors.keys()):
        lo = ms(data["start"]) if data.get("start") else now - RangeForm.PRESETS["24h"]
        hi = ms(data["end"]) if data.get("end") else now
        return lo, hi, "custom"
    chosen: str = data.get("range") or ""
    preset = chosen if chosen in RangeForm.PRESETS else "24h"
    return now - RangeForm.PRESETS[preset], now, preset


def range_ignored(form) -> list[str]:
    """What the page could not use from its query string, said as "Aggregate: ...", so that a bad
    link shows why the page shows its defaults. The page number is left out: the pager falls back
    to the first page on its own."""
    return [f"{form.fields[name].label or name.capitalize()}: {' '.join(errors)}"
            for name, errors in form.errors.items() if name != "page"]


@login_required
def bucket_detail(request, bucket_id):
    bucket = bucket_for_owner_or_404(request.user, bucket_id)
    form = RangeForm(request.GET)  # bound even when empty: every field is optional
    min_ts, max_ts, preset = data_range(form)
    agg_type = form.cleaned_data.get("agg_type") or "mean"
    points, agg, step = chart_points(bucket=bucket, min_ts=min_ts, max_ts=max_ts, agg_type=agg_type)
    rows = records_in_range(bucket=bucket, min_ts=min_ts, max_ts=max_ts).order_by("-ts", "-id")
    page = Paginator(rows.only("ts", "val"), 25).get_page(request.GET.get("page"))
    query = {"min_ts": min_ts, "max_ts": max_ts}
    api_base = f"/v1/users/{request.user.username}/buckets/{bucket.bucket_id}"
    keep = {k: v for k, v in request.GET.items() if k != "page"}
    context = {
        "bucket": bucket, "form": form, "preset": preset, "agg": agg, "agg_type": agg_type,
        "ignored": range_ignored(form),
        "chart_points": points, "chart_step": step, "min_ts": min_ts, "max_ts": max_ts,
        # Every field of the bucket, so that a field's colour does not depend on the range.
        "chart_known": bucket_fields_cached(bucket=bucket),
        "page": page, "page_query": urlencode(keep), "presets": [*RangeForm.PRESETS, "custom"],
        "exports": [(fmt.upper(), f"{api_base}/export?{urlencode({'format': fmt, **query})}")
                    for fmt in ("csv", "json", "ndjson")],
        "api_data_url": f"{settings.SITE_URL}{api_base}/data",
    }
    return render_page(request, "buckets/detail.html", context, partials=("data",))


@login_required
@require_POST
def bucket_clear(request, bucket_id):
    bucket = bucket_for_owner_or_404(request.user, bucket_id)
    # With min_ts and max_ts (the range the page shows), only those records; without, all of them.
    bounds = {name: request.POST.get(name, "") for name in ("min_ts", "max_ts")}
    if any(bounds.values()):
        if not all(v.isascii() and v.isdigit() and len(v) <= 15 for v in bounds.values()):
            return HttpResponseBadRequest("min_ts and max_ts must both be epoch milliseconds.")
        deleted = services.records_clear(bucket=bucket, min_ts=int(bounds["min_ts"]), max_ts=int(bounds["max_ts"]))
    else:
        deleted = services.records_clear(bucket=bucket)
    toast(request, f"Cleared {deleted} record{'s' if deleted != 1 else ''} from {bucket.bucket_id}.")
    # Back to the range that was shown (it jumped to the default 24 h): only the range form's own
    # fields come back, as a query string on this bucket's own page.
    shown = QueryDict(request.POST.get("shown", ""))
    back = {name: shown[name] for name in RangeForm.base_fields if name != "page" and shown.get(name)}
    url = reverse("bucket_detail", kwargs={"bucket_id": bucket.bucket_id})
    return redirect(f"{url}?{urlencode(back)}" if back else url)


@login_required
@require_POST
def bucket_delete(request, bucket_id):
    bucket = bucket_for_owner_or_404(request.user, bucket_id)
    services.bucket_delete(bucket=bucket)
    toast(request, f"Bucket {bucket_id} deleted.")
    return redirect("bucket_list")
