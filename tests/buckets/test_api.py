"""The buckets REST API: shapes of docs/api.md, owner scoping, every parameter's 400."""
from urllib.parse import urlencode

import pytest

from buckets.models import Bucket, Record
from buckets.services import records_store

BASE = "/v1/users/alice/buckets"


def _rows(bucket, *pairs):
    records_store(bucket_pk=bucket.pk, rows=[(None, i, ts, val) for i, (ts, val) in enumerate(pairs)])


def test_create_and_read_bucket_in_api_shape(alice, api):
    client = api(alice)
    body = {"bucket": "temp", "name": "Temperatures", "description": "kitchen",
            "config": {"source": "api", "retention": {"period": 30, "unit": "days"}}}
    created = client.post(BASE, body, format="json")
    assert created.status_code == 201
    expected = {"bucket": "temp", "name": "Temperatures", "description": "kitchen", "enabled": True,
                "config": {"source": "api", "retention": {"period": 30, "unit": "days"}}}
    assert created.json() == expected
    assert client.get(f"{BASE}/temp").json() == expected
    assert [b["bucket"] for b in client.get(BASE).json()] == ["temp"]


def test_create_with_defaults_has_null_retention(alice, api):
    response = api(alice).post(BASE, {"bucket": "b2"}, format="json")
    assert response.json() == {"bucket": "b2", "name": "", "description": "", "enabled": True,
                               "config": {"source": "api", "retention": None}}


def test_duplicate_id_is_400(alice, api, bucket):
    response = api(alice).post(BASE, {"bucket": "b1"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["message"]


def test_same_id_for_another_user_is_fine(bob, api, bucket):
    assert api(bob).post("/v1/users/bob/buckets", {"bucket": "b1"}, format="json").status_code == 201


@pytest.mark.parametrize("body, needle", [
    ({"bucket": "no spaces"}, "bucket"),
    ({}, "bucket"),
    ({"bucket": "x", "config": {"source": "mqtt"}}, "api, device"),
    ({"bucket": "x", "config": {"retention": {"period": 3, "unit": "fortnights"}}}, "minutes, hours"),
    ({"bucket": "x", "config": {"retention": {"period": 0, "unit": "days"}}}, "period"),
    ({"bucket": "x", "enabled": "maybe"}, "enabled"),
])
def test_bad_bucket_bodies_are_400_naming_the_field(alice, api, body, needle):
    response = api(alice).post(BASE, body, format="json")
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


def test_put_replaces_and_patch_changes_only_what_is_sent(alice, api, bucket):
    client = api(alice)
    patched = client.patch(f"{BASE}/b1", {"config": {"retention": {"period": 2, "unit": "weeks"}}}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "Bucket one"
    assert patched.json()["config"]["retention"] == {"period": 2, "unit": "weeks"}
    put = client.put(f"{BASE}/b1", {"bucket": "b1", "name": "New", "enabled": False}, format="json")
    assert put.json() == {"bucket": "b1", "name": "New", "description": "", "enabled": False,
                          "config": {"source": "api", "retention": None}}
    bucket.refresh_from_db()
    assert (bucket.name, bucket.enabled, bucket.retention_period) == ("New", False, None)


def test_changing_the_id_is_400(alice, api, bucket):
    response = api(alice).patch(f"{BASE}/b1", {"bucket": "b9"}, format="json")
    assert response.status_code == 400
    assert "cannot be changed" in response.json()["error"]["message"]


def test_delete_removes_bucket_and_records(alice, api, bucket):
    _rows(bucket, (1000, {"a": 1}), (2000, {"a": 2}))
    assert api(alice).delete(f"{BASE}/b1").status_code == 204
    assert not Bucket.objects.exists() and not Record.objects.exists()


@pytest.mark.parametrize("method, path", [
    ("get", ""), ("put", ""), ("patch", ""), ("delete", ""),
    ("get", "/data"), ("post", "/data"), ("delete", "/data"), ("get", "/export"),
])
def test_charlie_gets_404_on_alices_bucket(charlie, api, bucket, method, path):
    client = api(charlie)
    for url in (f"{BASE}/b1{path}", f"/v1/users/charlie/buckets/b1{path}"):
        body = {"bucket": "b1", "a": 1} if method in ("put", "patch", "post") else None
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
    assert Bucket.objects.filter(pk=bucket.pk, name="Bucket one").exists()


def test_charlie_cannot_list_or_create_in_alices_name(charlie, api, bucket):
    client = api(charlie)
    assert client.get(BASE).status_code == 404
    assert client.post(BASE, {"bucket": "x"}, format="json").status_code == 404


def test_no_token_is_401(client, bucket):
    assert client.get(f"{BASE}/b1").status_code in (401, 403)


# --- data -------------------------------------------------------------------------------------

def test_write_object_and_array_honouring_ts(alice, api, bucket):
    client = api(alice)
    assert client.post(f"{BASE}/b1/data", {"ts": 5000, "t": 20.5}, format="json").json() == {"stored": 1, "skipped": 0}
    assert client.post(f"{BASE}/b1/data", [{"ts": 6000, "t": 21}, {"ts": 7000, "t": 22, "s": "x"}],
                       format="json").json()["stored"] == 2
    response = client.post(f"{BASE}/b1/data", {"t": 1}, format="json")
    assert response.status_code == 200
    data = client.get(f"{BASE}/b1/data", {"items": 3}).json()
    assert data[1:] == [{"ts": 7000, "val": {"t": 22, "s": "x"}}, {"ts": 6000, "val": {"t": 21}}]
    assert data[0]["ts"] > 10**12 and data[0]["val"] == {"t": 1}


def test_write_to_disabled_bucket_is_skipped_and_counted(alice, api, bucket):
    bucket.enabled = False
    bucket.save()
    response = api(alice).post(f"{BASE}/b1/data", [{"a": 1}, {"a": 2}], format="json")
    assert response.json() == {"stored": 0, "skipped": 2}
    bucket.refresh_from_db()
    assert bucket.skipped_writes == 2 and not Record.objects.exists()


@pytest.mark.parametrize("body, needle", [
    (b"", "Empty body"), (b"{", "Malformed JSON"), (b"[]", "Empty array"), (b"[1]", "JSON object"),
    (b'{"ts": "yesterday"}', "ts"), (b'{"ts": -1}', "ts"), (b'{"a": NaN}', "NaN"), (b'{"a": 1e999}', "out of range"),
    (b'{"a": "x\\u0000"}', "NUL"),
])
def test_bad_write_bodies_are_400(alice, api, bucket, body, needle):
    response = api(alice).post(f"{BASE}/b1/data", body, content_type="application/json")
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]
    assert not Record.objects.exists()


def test_write_needs_json_content_type(alice, api, bucket):
    response = api(alice).post(f"{BASE}/b1/data", b"a=1", content_type="text/plain")
    assert response.status_code == 415


def test_read_sort_items_and_range(alice, api, bucket):
    _rows(bucket, *[(t * 1000, {"n": t}) for t in range(1, 11)])
    client = api(alice)
    assert [r["ts"] for r in client.get(f"{BASE}/b1/data").json()] == [t * 1000 for t in range(10, 0, -1)]
    assert [r["val"]["n"] for r in client.get(f"{BASE}/b1/data", {"sort": "asc", "items": 3}).json()] == [1, 2, 3]
    ranged = client.get(f"{BASE}/b1/data", {"min_ts": 3000, "max_ts": 5000, "sort": "asc"}).json()
    assert [r["ts"] for r in ranged] == [3000, 4000, 5000]


def test_read_default_is_100_items(alice, api, bucket):
    _rows(bucket, *[(t, {"n": t}) for t in range(150)])
    assert len(api(alice).get(f"{BASE}/b1/data").json()) == 100


@pytest.mark.parametrize("params, needle", [
    ({"items": "ten"}, "1 to 1000"), ({"items": 0}, "1 to 1000"), ({"items": 1001}, "1 to 1000"),
    ({"min_ts": "x"}, "epoch milliseconds"), ({"max_ts": -5}, "epoch milliseconds"),
    ({"min_ts": 10, "max_ts": 5}, "min_ts must not be after max_ts"),
    ({"sort": "up"}, "asc, desc"), ({"agg": "2h"}, "5m, 15m, 30m, 1h, 3h, 6h, 12h, 1d, 1w"),
    ({"agg": "1h", "agg_type": "median"}, "mean, min, max, sum, count, first, last"),
    ({"agg_type": "mean"}, "agg_type needs agg"),
])
def test_bad_read_parameters_are_400_saying_what_is_allowed(alice, api, bucket, params, needle):
    response = api(alice).get(f"{BASE}/b1/data", params)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"]


@pytest.mark.parametrize("name, value, needle", [
    ("min_ts", "1_000", "epoch milliseconds"), ("min_ts", "\u0665", "epoch milliseconds"),  # Arabic-Indic 5
    ("max_ts", "5.0", "epoch milliseconds"), ("max_ts", " 5", "epoch milliseconds"),
    ("max_ts", "+5", "epoch milliseconds"), ("items", "1_0", "1 to 1000"), ("items", "\uff15", "1 to 1000"),
])
def test_query_integers_are_ascii_digits_only(alice, api, bucket, name, value, needle):
    # Python's int() reads all of these; no other implementation of the contract would.
    for url in (f"{BASE}/b1/data", f"{BASE}/b1/export"):
        if name == "items" and url.endswith("export"):
            continue
        response = api(alice).get(url, {name: value})
        assert response.status_code == 400, (url, value, response.content)
        assert needle in response.json()["error"]["message"]
    if name != "items":
        assert api(alice).delete(f"{BASE}/b1/data?{urlencode({name: value})}").status_code == 400


def test_clear_without_range_deletes_everything(alice, api, bucket, bob):
    other = Bucket.objects.create(owner=bob, bucket_id="b1")
    _rows(bucket, *[(t, {"n": t}) for t in range(10)])
    _rows(other, (5, {"n": 5}))
    assert api(alice).delete(f"{BASE}/b1/data").json() == {"deleted": 10}
    assert list(Record.objects.values_list("bucket_id", flat=True)) == [other.pk]


def test_clear_with_range_deletes_only_the_range(alice, api, bucket):
    _rows(bucket, *[(t, {"n": t}) for t in range(10)])
    client = api(alice)
    assert client.delete(f"{BASE}/b1/data?min_ts=3&max_ts=6").json() == {"deleted": 4}
    assert sorted(Record.objects.values_list("ts", flat=True)) == [0, 1, 2, 7, 8, 9]
    assert client.delete(f"{BASE}/b1/data?min_ts=8&max_ts=").json() == {"deleted": 2}
    assert client.delete(f"{BASE}/b1/data?max_ts=1").json() == {"deleted": 2}
    assert sorted(Record.objects.values_list("ts", flat=True)) == [2, 7]


def test_clear_past_64_bits_deletes_nothing_and_says_0(alice, api, bucket):
    # Was {"deleted": null}: Django knows nothing matches and runs no DELETE.
    client = api(alice)
    client.post(f"{BASE}/b1/data", {"t": 1, "ts": 1000}, format="json")
    assert client.delete(f"{BASE}/b1/data?min_ts=99999999999999999999").json() == {"deleted": 0}


def test_clear_with_bad_range_is_400(alice, api, bucket):
    _rows(bucket, (1, {"n": 1}))
    assert api(alice).delete(f"{BASE}/b1/data?min_ts=9&max_ts=1").status_code == 400
    assert Record.objects.count() == 1
