"""The admin as an operator reads it: rows the platform writes are viewed and deleted, not made or
edited by hand; titles and times say what and when, not primary keys and epoch numbers."""
import pytest

from buckets.models import Record
from devices.models import Message, StatusChange

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["buckets/record", "devices/message", "devices/statuschange", "endpoints/delivery",
                                   "platform/accesstoken"])
def test_rows_the_platform_writes_cannot_be_added_by_hand(root, model):
    """An access token added here had no secret anyone saw; a status change added here put a
    "disconnected" in a connected device's history."""
    assert root.get(f"/admin/{model}/add/").status_code == 403
    assert 'href="/admin/' + model + '/add/"' not in root.get(f"/admin/{model}/").content.decode()


def test_records_and_messages_read_as_dates_and_names(root, device, bucket):
    record = Record.objects.create(bucket=bucket, ts=1796646519272, val={"t": 1})
    Message.objects.create(device=device, payload={"t": 1}, ts=1796646519272, size=7)
    change = StatusChange.objects.create(device=device, connected=False)
    assert str(record) == "b1 @ 2026-12-07 12:28:39.272 UTC"
    assert str(change).startswith("disconnected at ")
    for model in ("buckets/record", "devices/message"):
        page = root.get(f"/admin/{model}/").content.decode()
        assert "2026-12-07 12:28:39.272 UTC" in page and "1796646519272" not in page
    page = root.get(f"/admin/buckets/record/{record.pk}/change/").content.decode()
    assert "b1 @ 2026-12-07 12:28:39.272 UTC" in page
    assert root.get("/admin/devices/message/", {"q": "d1"}).status_code == 200
