"""Whatever JSON a client sends as widgets, the API answers 201 or a 400 saying what to fix, and
what it accepts renders (hypothesis over widget-shaped bodies)."""
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.security.test_bad_input import JSON

pytestmark = pytest.mark.django_db

KEYS = st.sampled_from(["id", "type", "title", "layout", "source", "options", "x", "y", "w", "h", "bucket", "device",
                        "fields", "field", "property", "range", "agg", "agg_type", "items", "unit", "decimals", "min",
                        "max", "color", "payload", "label"])
VALUES = JSON | st.sampled_from(["chart", "value", "gauge", "status", "map", "table", "property", "downlink", "b1",
                                 "d1", "24h", "5m", "mean", ["temperature"], 0, 6, 12, -1, "#d33"])
WIDGET = st.recursive(VALUES, lambda children: st.dictionaries(KEYS, children, max_size=5), max_leaves=12)
NUMBER = st.integers(-5, 200) | st.floats(-1e6, 1e6)
NAME = st.text(min_size=1, max_size=6).filter(lambda t: all(ord(c) >= 32 for c in t))
PROPERTY_SOURCE = st.fixed_dictionaries({"device": st.just("d1"), "property": st.sampled_from(["config", "p-1"])},
                                        optional={"field": NAME})
SOURCES = {
    "chart": st.fixed_dictionaries({"bucket": st.just("b1")}, optional={
        "fields": st.lists(NAME, max_size=3, unique=True), "range": st.sampled_from(["1h", "24h", "365d"]),
        "agg": st.sampled_from(["auto", "1d", "1h"]), "agg_type": st.sampled_from(["mean", "count", "last"])}),
    "value": st.fixed_dictionaries({"bucket": st.just("b1"), "field": NAME | st.sampled_from(["temperature"])})
    | PROPERTY_SOURCE,
    "status": st.just({"device": "d1"}),
    "map": st.fixed_dictionaries({"bucket": st.just("b1")}, optional={"range": st.sampled_from(["1h", "24h"])}),
    "table": st.fixed_dictionaries({"bucket": st.just("b1")}, optional={"items": st.integers(1, 50),
                                                                         "fields": st.lists(NAME, max_size=3, unique=True)}),
    "property": PROPERTY_SOURCE,
    "downlink": st.just({"device": "d1"}),
}
SOURCES["gauge"] = SOURCES["value"]
OPTIONS = st.fixed_dictionaries({}, optional={
    "unit": st.text(max_size=16), "decimals": st.integers(0, 6), "min": st.integers(-100, 0),
    "max": st.integers(1, 100) | st.floats(1, 1e6), "color": st.sampled_from(["#d33", "#1234ab"])})
# Near-valid widgets, so that many are accepted and their rendering is exercised too.
NEAR_VALID = st.sampled_from(sorted(SOURCES)).flatmap(lambda kind: st.fixed_dictionaries(
    {"type": st.just(kind), "source": SOURCES[kind],
     "options": OPTIONS.flatmap(lambda o: st.fixed_dictionaries(
         {"payload": JSON, "label": st.text(min_size=1, max_size=40)}).map(lambda d: {**o, **d}))
     if kind == "downlink" else OPTIONS},
    optional={"title": st.text(max_size=100), "layout": st.fixed_dictionaries(
        {}, optional={"x": st.integers(0, 6), "y": st.integers(0, 20), "w": st.integers(1, 6), "h": st.integers(1, 12)})}))

@hsettings(max_examples=150, deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(widgets=st.lists(NEAR_VALID, max_size=4) | st.lists(WIDGET, max_size=3) | JSON)
def test_any_widgets_are_201_or_a_400_that_says_why(api, client, alice, bucket, device, records, widgets):
    response = api(alice).post("/v1/users/alice/dashboards", {"dashboard": "x", "widgets": widgets}, format="json")
    assert response.status_code in (201, 400), (widgets, response.content[:300])
    if response.status_code == 400:
        assert response.json()["error"]["message"]
    else:  # and what was accepted renders, on the owner's page and on a shared one
        client.force_login(alice)
        assert client.get("/dashboards/x/").status_code == 200
        assert client.get("/dashboards/x/refresh/?v=0").status_code == 200
        api(alice).delete("/v1/users/alice/dashboards/x")
