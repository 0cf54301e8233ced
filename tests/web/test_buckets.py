import re

import pytest

from buckets.models import Bucket, Record
from platform.clock import now_ms
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


def test_bucket_list_empty_state(web):
    assert "No buckets yet" in web.get("/buckets/").text


def test_create_edit_bucket(web, alice):
    response = web.post("/buckets/+new/", {"bucket_id": "temps", "name": "Temps", "enabled": "on",
                                          "retention_period": 7, "retention_unit": "days"})
    assert response.status_code == 302
    bucket = Bucket.objects.get(owner=alice, bucket_id="temps")
    assert (bucket.retention_period, bucket.retention_unit) == (7, "days")
    web.post("/buckets/temps/edit/", {"name": "Renamed", "retention_period": "", "retention_unit": "days"})
    bucket.refresh_from_db()
    assert (bucket.name, bucket.enabled, bucket.retention_period) == ("Renamed", False, None)


@pytest.mark.parametrize("period", ["0", "1000001", "1.5"])
def test_a_retention_out_of_bounds_says_the_bounds_in_the_form_s_words(web, period):
    """Django's "Ensure this value is greater than or equal to 1." named no field and no way out."""
    response = web.post("/buckets/+new/", {"bucket_id": "t", "enabled": "on", "retention_period": period,
                                          "retention_unit": "days"})
    assert response.status_code == 400 and "Give a whole number from 1 to 1,000,000" in response.text


def test_duplicate_bucket_id_is_a_field_error(web, bucket):
    response = web.post("/buckets/+new/", {"bucket_id": "b1", "enabled": "on"})
    assert response.status_code == 400 and "has-error" in response.text


def test_bucket_page_chart_table_and_exports(web, bucket):
    now = now_ms()
    Record.objects.bulk_create([Record(bucket=bucket, index=i, ts=now - i * 60_000, val={"t": 20 + i, "s": "x"})
                                for i in range(30)])
    response = web.get("/buckets/b1/?range=1h")
    assert response.status_code == 200
    assert "<svg" in response.text and "<polyline" in response.text and "<title>t = 20" in response.text
    assert "page 1 of 2" in response.text
    assert "/v1/users/alice/buckets/b1/export?format=csv" in response.text
    day = web.get("/buckets/b1/?range=24h&agg_type=max")
    assert day.context["agg"] == "5m"
    assert "one point per 5m (max)" in day.text
    partial = web.get("/buckets/b1/?range=7d&page=2", **hx("data"))
    assert "<html" not in partial.text and 'id="data"' in partial.text


def test_custom_range(web, bucket):
    response = web.get("/buckets/b1/?range=custom&start=2024-01-01T00:00&end=2024-01-02T00:00")
    assert response.context["preset"] == "custom"
    assert "No records in this range" in response.text
    bad = web.get("/buckets/b1/?range=custom&start=2024-01-02T00:00&end=2024-01-01T00:00")
    assert bad.status_code == 200  # invalid range: falls back to the default range


def test_a_custom_range_of_years_draws_its_chart(web, bucket):
    # Over about eight years the time axis found no tick step: a 500.
    Record.objects.create(bucket=bucket, ts=now_ms(), val={"t": 1})
    for query in ("start=2016-12-01T00:00", "start=2019-01-01T00:00", "end=2036-01-01T00:00",
                  "start=0001-01-01T00:00&end=9999-12-31T00:00"):
        response = web.get(f"/buckets/b1/?range=custom&{query}")
        assert response.status_code == 200 and "<svg" in response.text, query


def test_clear_and_delete(web, bucket):
    Record.objects.create(bucket=bucket, ts=now_ms(), val={"a": 1})
    page = web.get("/buckets/b1/")
    assert 'data-confirm="Delete all the data in b1' in page.text
    web.post("/buckets/b1/clear/")
    assert not Record.objects.filter(bucket=bucket).exists()
    web.post("/buckets/b1/delete/")
    assert not Bucket.objects.filter(pk=bucket.pk).exists()


def test_delete_these_clears_only_the_range_shown_and_retention_is_said(web, bucket):
    """"Clear data" deleted everything even with a range picked; the page never said how long
    records are kept."""
    now = now_ms()
    Record.objects.create(bucket=bucket, ts=now - 3_600_000, val={"a": 1})  # in the last 24 h
    Record.objects.create(bucket=bucket, ts=now - 3 * 86_400_000, val={"a": 2})  # not
    page = web.get("/buckets/b1/?range=24h").text
    assert "Keeps records forever" in page
    form = re.search(r'<form method="post" action="/buckets/b1/clear/" data-confirm="Delete the 1 record of b1 '
                     r'from [^"]+">.*?name="min_ts" value="(\d+)".*?name="max_ts" value="(\d+)"', page, re.DOTALL)
    assert form, page
    web.post("/buckets/b1/clear/", {"min_ts": form.group(1), "max_ts": form.group(2)})
    assert list(Record.objects.filter(bucket=bucket).values_list("val", flat=True)) == [{"a": 2}]
    assert web.post("/buckets/b1/clear/", {"min_ts": "x", "max_ts": "1"}).status_code == 400
    assert Record.objects.filter(bucket=bucket).count() == 1
    Bucket.objects.filter(pk=bucket.pk).update(retention_period=7, retention_unit="days")
    assert "Keeps records for 7 days: older ones are deleted" in web.get("/buckets/b1/").text


def test_delete_these_comes_back_to_the_range_shown(web, bucket):
    """It came back to the default 24 h, whatever range the records were deleted from."""
    Record.objects.create(bucket=bucket, ts=now_ms() - 60_000, val={"a": 1})
    page = web.get("/buckets/b1/?range=1h&agg_type=max&page=1").text
    shown = re.search(r'name="shown" value="([^"]*)"', page).group(1).replace("&amp;", "&")
    back = web.post("/buckets/b1/clear/", {"min_ts": "0", "max_ts": str(now_ms()), "shown": shown})
    assert back.status_code == 302 and back["Location"] == "/buckets/b1/?range=1h&agg_type=max"
    odd = web.post("/buckets/b1/clear/", {"min_ts": "0", "max_ts": "1", "shown": "next=https://evil.example/&range=7d"})
    assert odd["Location"] == "/buckets/b1/?range=7d"


@pytest.mark.parametrize("method,path", [
    ("get", "/buckets/b1/"), ("get", "/buckets/b1/edit/"), ("post", "/buckets/b1/edit/"),
    ("post", "/buckets/b1/clear/"), ("post", "/buckets/b1/delete/"),
])
def test_charlie_gets_404(outsider, bucket, method, path):
    assert getattr(outsider, method)(path).status_code == 404


def test_bucket_with_id_new_has_a_working_page(web, alice):
    # "new" is a valid id (docs/api.md); the create page lives at /buckets/+new/, a path no id can take.
    assert web.get("/buckets/+new/").status_code == 200
    response = web.post("/buckets/+new/", {"bucket_id": "new", "name": "Named new", "enabled": "on"})
    assert response.status_code == 302 and response["Location"] == "/buckets/new/"
    page = web.get("/buckets/new/")
    assert page.status_code == 200 and "Named new" in page.text
    web.post("/buckets/new/edit/", {"name": "Renamed", "enabled": "on", "retention_unit": "days"})
    assert Bucket.objects.get(owner=alice, bucket_id="new").name == "Renamed"


def test_range_and_aggregate_keep_each_other(web, bucket):
    # Choosing an aggregate then "Show" used to reset the range to 24 h.
    page = web.get("/buckets/b1/?range=7d&agg_type=mean")
    assert 'name="range" value="7d"' in page.text
    shown = web.get("/buckets/b1/?range=7d&start=&end=&agg_type=max")
    assert shown.context["preset"] == "7d" and shown.context["agg_type"] == "max"
    assert 'href="?range=30d&agg_type=max"' in shown.text


def test_bucket_chart_colours_do_not_swap_between_ranges(web, bucket):
    # humidity and snr take the same palette slot; humidity is in the 24 h range only.
    now = now_ms()
    recent = [Record(bucket=bucket, index=i, ts=now - i * 60_000, val={"snr": 7 + i}) for i in range(5)]
    older = [Record(bucket=bucket, index=5 + i, ts=now - (2 + i) * 3_600_000, val={"snr": 7, "humidity": 40})
             for i in range(10)]
    Record.objects.bulk_create(recent + older)

    def snr_colour(text):
        return re.search(r'<span style="color:(#[0-9a-f]+)"><b>snr</b>', text).group(1)

    hour, day = web.get("/buckets/b1/?range=1h").text, web.get("/buckets/b1/?range=24h").text
    assert "<b>humidity</b>" not in hour and "<b>humidity</b>" in day
    assert snr_colour(hour) == snr_colour(day)


def test_the_range_forms_labels_have_no_colon(web, bucket):
    page = web.get("/buckets/b1/").text
    assert '>From</label>' in page and '>To</label>' in page and 'From:' not in page


def test_a_bad_query_parameter_is_said_and_the_rest_still_counts(web, bucket):
    # A bad aggregate used to drop the whole query silently: the page showed 24 h of means.
    response = web.get("/buckets/b1/?range=7d&agg_type=bogus")
    assert response.status_code == 200
    assert response.context["preset"] == "7d" and response.context["agg_type"] == "mean"
    assert "Aggregate: &#x27;bogus&#x27; is not an aggregate: use mean, min, max, sum, count, first, last." in response.text
    wrong = web.get("/buckets/b1/?range=1y&agg_type=max")
    assert wrong.context["preset"] == "24h" and wrong.context["agg_type"] == "max"
    assert "is not a range: use 1h, 24h, 7d, 30d, custom." in wrong.text
    # A page number that is not one goes to the first page, as the pager does, without a message.
    paged = web.get("/buckets/b1/?range=1h&page=x")
    assert paged.context["preset"] == "1h" and not paged.context["ignored"]
    reversed_range = web.get("/buckets/b1/?range=custom&start=2024-01-02T00:00&end=2024-01-01T00:00&agg_type=min")
    assert reversed_range.context["preset"] == "24h" and reversed_range.context["agg_type"] == "min"
    assert "To: The end must be after the start." in reversed_range.text
    assert not web.get("/buckets/b1/").context["ignored"]
