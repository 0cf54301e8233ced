"""The shared SVG chart (platform/charts.py): stable colours, round ticks, natural time labels,
gaps, legend and hover text."""
import re
from datetime import UTC, datetime

from platform.charts import field_colours, nice_ticks, svg_chart, time_ticks

HOUR = 3_600_000
T0 = int(datetime(2026, 3, 10, 0, 0, tzinfo=UTC).timestamp() * 1000)


def _colour_of(svg, field):
    return re.search(rf'<span style="color:(#[0-9a-f]+)"><b>{field}</b>', svg).group(1)


def test_a_field_keeps_its_colour_whatever_the_other_fields():
    # The 24h range had humidity first and the 1h range temperature first: colours swapped.
    day = svg_chart([(T0, {"humidity": 40}), (T0 + HOUR, {"temperature": 21, "humidity": 41})])
    hour = svg_chart([(T0, {"temperature": 20, "humidity": 40}), (T0 + HOUR, {"temperature": 21})])
    assert _colour_of(day, "temperature") == _colour_of(hour, "temperature")
    assert _colour_of(day, "humidity") == _colour_of(hour, "humidity")
    assert len(set(field_colours([f"f{i}" for i in range(6)]).values())) == 6


def test_value_ticks_are_round_numbers():
    assert nice_ticks(3.7, 41.2) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(0.12, 0.19) == [0.12, 0.14, 0.16, 0.18, 0.2]
    assert nice_ticks(5, 5)[0] <= 4 and nice_ticks(5, 5)[-1] >= 6


def test_time_labels_fall_on_natural_boundaries():
    ticks = time_ticks(T0 - 7 * HOUR - 123_456, T0 + 17 * HOUR)
    assert all(ts % HOUR == 0 for ts, _ in ticks)
    assert ("10 Mar" in [label for _, label in ticks]) and any(label.endswith(":00") for _, label in ticks)
    months = time_ticks(T0, T0 + 365 * 24 * HOUR)
    assert all(re.fullmatch(r"[A-Z][a-z]{2}( \d{4})?", label) for _, label in months) and len(months) >= 3


def test_ranges_of_years_and_centuries_get_ticks_on_round_years():
    # Ranges over about eight years (a custom range on the bucket page) found no step: a 500.
    for years, step in ((10, 2), (30, 5), (200, 50), (9000, 2000)):
        end = datetime(min(2026 + years, 9999), 1, 1, tzinfo=UTC)
        ticks = time_ticks(T0, int(end.timestamp() * 1000))
        assert 2 <= len(ticks) <= 6, (years, ticks)
        assert all(label.startswith("Jan ") and int(label[4:]) % step == 0 for _, label in ticks), (years, ticks)
    start = int(datetime(1, 1, 1, tzinfo=UTC).timestamp() * 1000)
    assert time_ticks(start, int(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000))


def test_a_gap_in_the_data_breaks_the_line_and_points_have_hover_text():
    points = [(T0 + i * 60_000, {"t": i}) for i in range(10)] + [(T0 + 5 * HOUR + i * 60_000, {"t": i}) for i in range(10)]
    svg = svg_chart(points, unit="°C", decimals=1)
    assert svg.count("<polyline") == 2
    assert "<title>t = 3.0 °C at 2026-03-10 00:03:00</title>" in svg
    assert 'class="legend"' in svg and "9.0 °C" in svg


def test_nothing_numeric_is_an_empty_chart():
    assert svg_chart([(T0, {"s": "x"})]) == ""


def test_a_colliding_field_keeps_its_colour_when_its_rival_is_not_in_the_range():
    # humidity and snr hash to the same slot: resolved among the range's fields, snr was red with
    # humidity in the range and blue without it.
    assert field_colours(["humidity", "snr"])["snr"] != field_colours(["snr"])["snr"]
    known = ["humidity", "snr"]
    both = svg_chart([(T0, {"humidity": 40, "snr": 7})], known=known)
    alone = svg_chart([(T0, {"snr": 7})], known=known)
    assert _colour_of(both, "snr") == _colour_of(alone, "snr")


def test_the_colour_option_belongs_to_the_first_chosen_field_even_without_points():
    svg = svg_chart([(T0, {"b": 1})], fields=["a", "b"], colour="#123456")
    assert _colour_of(svg, "b") != "#123456"
    assert _colour_of(svg_chart([(T0, {"a": 1, "b": 2})], fields=["b", "a"], colour="#123456"), "b") == "#123456"


def test_a_narrow_30_day_chart_has_a_label_every_week():
    day = 24 * HOUR
    points = [(T0 + i * day, {"t": i}) for i in range(31)]
    svg = svg_chart(points, min_ts=T0, max_ts=T0 + 30 * day, width=480)
    assert svg.count('<line class="tick"') >= 4


def test_a_time_label_on_the_right_edge_ends_there_rather_than_running_out():
    """An 11:00-12:00 range put "12:00" centred on the edge: the drawing cut it to "12:0"."""
    points = [(T0 + 11 * HOUR + i * 60_000, {"t": i}) for i in range(60)]
    svg = svg_chart(points, min_ts=T0 + 11 * HOUR, max_ts=T0 + 12 * HOUR)
    assert re.search(r'text-anchor="end">12:00</text>', svg), svg
    assert re.search(r'text-anchor="middle">11:30</text>', svg)
