"""A sender's claim (endpoints/sender/rows.py `claim`) runs SQL it made once per shape, with the
changing values put in its places: it must pick exactly what the ORM query it was made from picks,
claim after claim, whatever the time, the cursor, the partitions and the limit."""
import random
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from endpoints.models import Connection, Delivery, Endpoint
from endpoints.partitions import in_partitions
from endpoints.sender import rows
from endpoints.sender.io import Claimed
from endpoints.sender.rows import claim, claimable, newest_pending
from endpoints.targets import connection as connection_kind

FIELDS = Claimed.__slots__


@pytest.fixture
def deliveries(alice):
    """Deliveries of every kind the claim tells apart: due or waiting for a retry, leased or not,
    pending or done, to an enabled or a disabled endpoint, an active, inactive or blamed application,
    over 12 lanes; ids in an order that mixes them."""
    now = timezone.now()
    targets = [
        {"endpoint": Endpoint.objects.create(owner=alice, endpoint_id="on", url="http://127.0.0.1:9/")},
        {"endpoint": Endpoint.objects.create(owner=alice, endpoint_id="off", url="http://127.0.0.1:9/", enabled=False)},
        {"connection": Connection.objects.create(owner=alice, name="A", destination_url="http://127.0.0.1:9/")},
        {"connection": Connection.objects.create(owner=alice, name="I", destination_url="http://127.0.0.1:9/",
                                                 active=False)},
        {"connection": Connection.objects.create(owner=alice, name="B", destination_url="http://127.0.0.1:9/",
                                                 blamed_until=now + timedelta(seconds=30))},
    ]
    pick = random.Random(7)
    rows = []
    for n in range(240):
        rows.append(Delivery(
            owner=alice, **pick.choice(targets), device_id=f"d{n % 12}", device_name="", payload={"n": n, "u": "é"},
            ts=1700000000000 + n, lane=n % 12, state=pick.choice(["pending"] * 4 + ["delivered", "failed"]),
            next_attempt_at=now + timedelta(seconds=pick.choice([-60, -1, 0, 20, 120])),
            leased_until=now + timedelta(seconds=30) if pick.random() < 0.1 else None))
    Delivery.objects.bulk_create(rows)
    return now


def _expected(now, after, partitions, limit):
    due = claimable(now, after=after)
    if partitions is not None:
        due = in_partitions(due, partitions)
    return list(due.order_by("id").values_list(*FIELDS)[:limit])


@pytest.mark.parity
@pytest.mark.parametrize("partitions", [None, frozenset({0, 2}), frozenset({1})])
def test_each_claim_picks_what_the_orm_query_picks(deliveries, settings, partitions):
    settings.DELIVERY_PARTITIONS = 4
    ids = sorted(Delivery.objects.values_list("id", flat=True))
    for offset in (0, 10, 30, 90, 130):  # the same shape again: from the SQL made the first time
        for after in (0, ids[len(ids) // 3], ids[-1] - 5):
            for limit in (1, 7, 500):
                now = deliveries + timedelta(seconds=offset)
                expected = _expected(now, after, partitions, limit)
                leased = now + timedelta(seconds=60)
                claimed = claim(now, after, partitions, limit, leased, FIELDS)
                assert claimed == [tuple(row) for row in expected], (offset, after, limit)
                picked = [row[0] for row in claimed]
                assert set(Delivery.objects.filter(leased_until=leased).values_list("id", flat=True)) == set(picked)
                Delivery.objects.filter(id__in=picked).update(leased_until=None)  # as they were
    assert any(_expected(deliveries + timedelta(seconds=130), 0, partitions, 500))  # the data gave claims something


@pytest.mark.parity
def test_the_newest_pending_delivery_is_the_orms(deliveries):
    for _ in range(2):  # the second from the SQL made the first time
        expected = Delivery.objects.filter(state="pending").order_by("-id").values_list("id", flat=True).first()
        assert newest_pending() == expected
        Delivery.objects.filter(id=expected).update(state="delivered")
    Delivery.objects.update(state="delivered")
    assert newest_pending() == 0


@pytest.mark.parity
@pytest.mark.parametrize("derived", ["time", "cursor"])
def test_a_claim_query_with_a_value_derived_from_the_time_or_the_cursor_is_refused_not_frozen(
        alice, monkeypatch, derived):
    # A target kind whose availability used `now - x`, or a cursor used as `after - 1`, would have
    # that value kept from the stand-in at every claim: making the SQL says so instead.
    from django.db.models import Q

    monkeypatch.setattr(rows, "_claims", threading.local())  # nothing made yet in this thread
    if derived == "time":
        monkeypatch.setattr(connection_kind, "available",
                            lambda now: Q(connection__blamed_until__lte=now - timedelta(seconds=1)))
    else:
        real = rows.claimable
        monkeypatch.setattr(rows, "claimable", lambda now, after=0: real(now, after=after).filter(id__gt=after - 1))
    with pytest.raises(RuntimeError, match="derived from the time or the cursor"):
        claim(timezone.now(), 5, None, 10, timezone.now(), FIELDS)
