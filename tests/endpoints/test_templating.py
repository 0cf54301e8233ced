import json

import pytest

from endpoints.templating import TemplateError, render_body, render_headers, render_thingpark_headers, render_url

CONTEXT = {"payload": {"t": 21.5, "name": 'say "hi"\n', "tags": ["a", "b"], "nested": {"ok": True}, "none": None},
           "device": "d1", "device_name": "Kitchen sensor", "user": "alice", "ts": 1700000000123}


def test_body_inserts_json_values_and_escaped_strings():
    body = render_body('{"v": {{t}}, "n": "{{payload.name}}", "tags": {{tags}}, "all": {{payload}}, '
                       '"ok": {{nested.ok}}, "none": {{none}}, "dev": "{{device}}", "ts": {{ts}}}', CONTEXT)
    parsed = json.loads(body)
    assert parsed == {"v": 21.5, "n": 'say "hi"\n', "tags": ["a", "b"], "all": CONTEXT["payload"], "ok": True,
                      "none": None, "dev": "d1", "ts": 1700000000123}


def test_body_missing_field_is_null():
    assert json.loads(render_body('{"x": {{missing.field}}}', CONTEXT)) == {"x": None}


def test_an_index_is_ascii_digits_only():
    # "²" passed str.isdigit() and then failed int(): a 500 on the endpoint's test and call.
    assert json.loads(render_body('{"a": "{{tags.1}}", "b": {{tags.²}}, "c": {{tags.١}}}', CONTEXT)) == {
        "a": "b", "b": None, "c": None}


def test_url_values_are_percent_encoded():
    url = render_url("https://h.example/{{user}}/{{device_name}}?n={{payload.name}}&t={{t}}", CONTEXT)
    assert url == "https://h.example/alice/Kitchen%20sensor?n=say%20%22hi%22%0A&t=21.5"


def test_header_values_are_filled():
    assert render_headers({"X-Dev": "{{device}}:{{ t }}", "X-All": "{{nested}}"}, CONTEXT) == {
        "X-Dev": "d1:21.5", "X-All": '{"ok":true}'}


def test_a_header_value_left_starting_with_a_space_by_an_empty_placeholder_is_sent_trimmed():
    """A value starting with a space cannot be sent (the call failed with the HTTP library's words);
    HTTP strips the spaces around a value anyway."""
    context = {**CONTEXT, "device_name": ""}
    assert render_headers({"X-Where": "{{device_name}} {{t}} "}, context) == {"X-Where": "21.5"}
    assert render_thingpark_headers({"X-Name": "{DeviceName} {payload.t}"}, device="d1", device_name="",
                                    customer="alice", ts=1, payload={"t": 2}) == {"X-Name": "2"}


def test_header_with_line_break_is_refused():
    with pytest.raises(TemplateError):
        render_headers({"X-Name": "{{payload.name}}"}, CONTEXT)


def test_thingpark_placeholders():
    headers = render_thingpark_headers(
        {"X-Thing": "{DevEUI}", "X-Who": "{CustomerID}/{DeviceName}", "X-T": "{Time}", "X-V": "{payload.t}",
         "X-Other": "{Unknown}"},
        device="d1", device_name="Kitchen", customer="alice", ts=1700000000123, payload=CONTEXT["payload"])
    assert headers == {"X-Thing": "d1", "X-Who": "alice/Kitchen", "X-T": "2023-11-14T22:13:20.123+00:00",
                       "X-V": "21.5", "X-Other": "{Unknown}"}
