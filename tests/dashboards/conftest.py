import pytest
from django.core.cache import cache

from buckets.models import Record
from dashboards.services import dashboard_create
from platform.clock import now_ms
from tests.web.conftest import outsider  # noqa: F401  (charlie signed in; `web`, alice, is in tests/conftest.py)

WIDGETS = [
    {"id": "chart", "type": "chart", "title": "Temperature", "layout": {"x": 0, "y": 0, "w": 6, "h": 4},
     "source": {"bucket": "b1", "fields": ["temperature"], "range": "24h", "agg": "5m", "agg_type": "mean"},
     "options": {"unit": "°C", "decimals": 1, "color": "#d33"}},
    {"id": "value", "type": "value", "title": "Now", "source": {"bucket": "b1", "fields": ["temperature"]},
     "options": {"unit": "°C", "decimals": 1}},
    {"id": "gauge", "type": "gauge", "title": "Humidity", "source": {"bucket": "b1", "field": "humidity"},
     "options": {"unit": "%", "min": 0, "max": 100}},
    {"id": "status", "type": "status", "title": "Sensor", "source": {"device": "d1"}},
    {"id": "map", "type": "map", "title": "Where", "source": {"bucket": "b1"}},
    {"id": "table", "type": "table", "title": "Latest", "source": {"bucket": "b1", "items": 5}},
    {"id": "prop", "type": "property", "title": "Interval", "source": {"device": "d1", "property": "config",
                                                                       "field": "interval"}},
    {"id": "led", "type": "downlink", "title": "LED", "source": {"device": "d1"},
     "options": {"payload": {"led": "on"}, "label": "Turn on"}},
]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Chart widgets keep closed intervals in the cache by bucket pk; test databases reuse pks."""
    cache.clear()


@pytest.fixture
def records(bucket):
    now = now_ms()
    rows = [Record(bucket=bucket, index=i, ts=now - i * 60_000,
                   val={"temperature": 20 + i, "humidity": 40 + i, "lat": 41.38 + i / 1000, "lon": 2.17})
            for i in range(30)]
    Record.objects.bulk_create(rows)
    return rows


@pytest.fixture
def dashboard(alice, bucket, device):
    return dashboard_create(owner=alice, dashboard_id="home", name="Home", widgets=WIDGETS)
