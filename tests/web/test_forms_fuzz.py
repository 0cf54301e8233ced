"""Property-based: whatever is typed into any web form (or a page's query string), the answer is
never a 5xx. Header rows are left out here: their validation is tested with the API's."""
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from endpoints.models import Connection, Endpoint

pytestmark = pytest.mark.django_db

NASTY = ["", " ", "NaN", "Infinity", "1e400", "-1", "0", "10" * 20, "9" * 5000, "[" * 5000, "{}", "null",
         "a\x00b", "é€東京", "http://[::1", "http://127.0.0.1:9/x", "<script>", "../..", "%00"]
VALUES = st.one_of(st.sampled_from(NASTY), st.integers().map(str),
                   st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))

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
}
PAGES = {
    "bucket data": ("/buckets/b1/", ["range", "start", "end", "agg_type", "page"]),
    "application edit": ("/applications/{app}/", ["edit", "reveal"]),
    "endpoint": ("/endpoints/e1/", ["reveal"]),
}


@pytest.fixture
def objects(alice, device):
    Endpoint.objects.create(owner=alice, endpoint_id="e1", url="http://127.0.0.1:9/hook", timeout=1)
    return {"app": Connection.objects.create(owner=alice, name="A", destination_url="https://example.com/in").pk}


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
