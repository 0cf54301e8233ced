"""Settings an operator changes in the admin, held to the API's rules so that what is saved is
something the rest of the platform can run: a bucket's retention, fixed owners and ids."""
import pytest

from buckets.models import Record
from buckets.tasks import retention_task


@pytest.fixture
def root(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1"))
    return client


def shown(client, url):
    """What the admin page at `url` posts as shown."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list):
            data[name] = [str(v) for v in value]
        elif value is not None:
            data[name] = value if isinstance(value, str) else field.widget.format_value(value)
    return data


def change(client, obj, **changes):
    url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
    return client.post(url, {**shown(client, url), **changes})


@pytest.mark.parametrize("period, unit, field, message", [
    ("0", "days", "retention_period", "from 1 to 1,000,000"),
    ("2147483647", "years", "retention_period", "from 1 to 1,000,000"),
    ("5", "", "retention_unit", "Choose the unit"),
    ("", "days", "retention_period", "leave the unit empty"),
])
def test_a_bucket_retention_the_api_refuses_is_a_form_error(root, bucket, period, unit, field, message):
    """0 days deleted every record at the next hourly run; 2147483647 years stopped that run for
    every bucket (a TypeError); 5 without a unit kept everything without a word."""
    Record.objects.create(bucket=bucket, ts=1, val={"t": 1})
    response = change(root, bucket, retention_period=period, retention_unit=unit)
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    retention_task()
    assert Record.objects.filter(bucket=bucket).count() == 1


def test_a_good_retention_is_saved(root, bucket):
    assert change(root, bucket, retention_period="30", retention_unit="days").status_code == 302
    bucket.refresh_from_db()
    assert (bucket.retention_period, bucket.retention_unit) == (30, "days")
    assert change(root, bucket, retention_period="", retention_unit="").status_code == 302


@pytest.mark.parametrize("model, fixed", [("buckets/bucket", ["owner", "bucket_id"])])
def test_owner_and_id_are_fixed_once_made(root, bucket, bob, model, fixed):
    """The API refuses to change them; the admin took them, and another owner or id broke the
    devices writing there and the dashboards showing it."""
    url = f"/admin/{model}/{bucket.pk}/change/"
    form = root.get(url).context["adminform"].form
    assert not set(fixed) & set(form.fields)
    assert root.post(url, {**shown(root, url), "owner": bob.pk, "bucket_id": "other"}).status_code == 302
    bucket.refresh_from_db()
    assert (bucket.owner.username, bucket.bucket_id) == ("alice", "b1")
    add = root.get(f"/admin/{model}/add/").context["adminform"].form
    assert set(fixed) <= set(add.fields)
