"""Property-based: whatever is typed into any web form (or a page's query string), the answer is
never a 5xx. Header rows are left out here: their validation is tested with the API's."""
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from alarms.services import alarm_activate, rule_create
from dashboards.services import dashboard_create
from endpoints.models import Connection, Endpoint

pytestmark = pytest.mark.django_db

NASTY = ["", " ", "NaN", "Infinity", "1e400", "-1", "0", "10" * 20, "9" * 5000, "[" * 5000, "{}", "null",
         "a\x00b", "é€東京", "http://[::1", "http://127.0.0.1:9/x", "<script>", "../..", "%00"]
VALUES = st.one_of(st.sampled_from(NASTY), st.integers().map(str),
                   st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))

RULE_FIELDS = ["rule_id", "name", "description", "enabled", "severity", "source_type", "bucket", "property", "field",
               "silence_minutes", "devices", "op", "value", "max", "confirm_type", "confirm_count", "confirm_seconds",
               "normalize_op", "normalize_value", "normalize_max", "latch", "endpoints", "emails",
               "reminder_minutes"]
WIDGET_FIELDS = ["type", "title", "bucket", "fields", "range", "agg_type", "items", "device", "property", "field",
                 "unit", "decimals", "min", "max", "color", "payload", "label"]
# A property widget and a downlink widget on d1, for their edit, property and downlink posts.
WIDGETS = [{"id": "prop", "type": "property", "title": "Interval", "source": {"device": "d1", "property": "config"}},
           {"id": "led", "type": "downlink", "title": "LED", "source": {"device": "d1"},
            "options": {"payload": {"led": "on"}, "label": "Turn on"}}]

FORMS = {
    "device create": ("/devices/+new/", ["device_id", "name", "description", "type"]),
    "device settings": ("/devices/d1/settings/", ["name", "description", "enabled", "write_bucket", "call_endpoint",
                                                  "set_property", "send_property", "timeout"]),
    "property": ("/devices/d1/properties/", ["name", "value"]),
    "downlink": ("/devices/d1/downlinks/", ["payload"]),
    "attach application": ("/devices/d1/applications/", ["connection"]),
    "bucket create": ("/buckets/+new/", ["bucket_id", "name", "description", "enabled", "retention_period",
                                         "retention_unit"]),
    "bucket edit": ("/buckets/b1/edit/", ["name", "description", "enabled", "retention_period", "retention_unit"]),
    "endpoint create": ("/endpoints/+new/", ["endpoint_id", "name", "description", "enabled", "url", "method", "body",
                                             "timeout"]),
    "endpoint edit": ("/endpoints/e1/edit/", ["name", "description", "enabled", "url", "method", "body", "timeout"]),
    "send test": ("/endpoints/e1/test/", ["payload"]),
    "application create": ("/applications/new/http/", ["name", "destination_url", "description"]),
    "application name": ("/applications/{app}/settings/name/", ["name"]),
    "application url": ("/applications/{app}/settings/destination_url/", ["destination_url"]),
    "access token": ("/tokens/", ["name"]),
    "alarm rule create": ("/alarms/rules/+new/", RULE_FIELDS),
    "alarm rule edit": ("/alarms/rules/r1/edit/", RULE_FIELDS[1:]),
    "alarm shelve": ("/alarms/{alarm}/shelve/", ["minutes"]),
    "dashboard create": ("/dashboards/+new/", ["dashboard_id", "name", "description"]),
    "dashboard edit": ("/dashboards/db1/edit/", ["name", "description"]),
    "widget create": ("/dashboards/db1/widgets/+new/", WIDGET_FIELDS),
    "widget edit": ("/dashboards/db1/widgets/prop/edit/", WIDGET_FIELDS),
    "widget property": ("/dashboards/db1/widgets/prop/property/", ["value"]),
    "widget downlink": ("/dashboards/db1/widgets/led/downlink/", ["payload"]),
    "sign-up": ("/signup/", ["username", "email", "password1", "password2"]),
}
PAGES = {
    "bucket data": ("/buckets/b1/", ["range", "start", "end", "agg_type", "page"]),
    "application edit": ("/applications/{app}/", ["edit", "reveal"]),
    "endpoint": ("/endpoints/e1/", ["reveal"]),
}


@pytest.fixture
def objects(alice, bucket, device, settings):
    settings.REGISTRATION_OPEN = True  # the sign-up form exists only then
    Endpoint.objects.create(owner=alice, endpoint_id="e1", url="http://127.0.0.1:9/hook", timeout=1)
    rule = rule_create(owner=alice, rule_id="r1", source_type="bucket", bucket=bucket, field="temperature",
                       condition={"op": "gt", "value": 30}, severity="high")
    dashboard_create(owner=alice, dashboard_id="db1", widgets=WIDGETS)
    return {"app": Connection.objects.create(owner=alice, name="A", destination_url="https://example.com/in").pk,
            "alarm": alarm_activate(rule=rule, device_pk=device.pk, value=31).pk}


FUZZ = hsettings(max_examples=40, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
@FUZZ
@given(data=st.data())
def test_no_web_form_answers_5xx(web, objects, form, data):
    path, fields = FORMS[form]
    values = data.draw(st.fixed_dictionaries({name: VALUES for name in fields}))
    response = web.post(path.format(**objects), values)
    assert response.status_code < 500, (form, values)


@pytest.mark.parametrize("page", PAGES, ids=list(PAGES))
@FUZZ
@given(data=st.data())
def test_no_page_query_answers_5xx(web, objects, page, data):
    path, fields = PAGES[page]
    values = data.draw(st.fixed_dictionaries({name: VALUES for name in fields}))
    response = web.get(path.format(**objects), values)
    assert response.status_code < 500, (page, values)
