"""What a self-hoster needs to know on a first run: how to let "Send test" reach a receiver on
their own machine, and how to give a board a callback URL it can reach."""
import pytest
from django.core.management import CommandError, call_command

from buckets.models import Bucket
from devices.models import Device
from endpoints.models import Connection, Endpoint
from platform.lan import default_site_url, lan_address, reachable_from_this_computer_only
from tests.web.conftest import hx

pytestmark = pytest.mark.django_db


@pytest.fixture
def guarded(settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False


def test_send_test_to_loopback_says_how_to_allow_it(web, alice, guarded):
    Endpoint.objects.create(owner=alice, endpoint_id="local", url="http://127.0.0.1:9000/in")
    page = web.get("/endpoints/local/")
    assert "ENDPOINTS_ALLOW_PRIVATE_IPS=true" in page.text and "url-warning" in page.text
    answer = web.post("/endpoints/local/test/", {"payload": '{"t": 1}'}, **hx("test"))
    assert "private or reserved address" in answer.text and "ENDPOINTS_ALLOW_PRIVATE_IPS=true" in answer.text


def test_forms_warn_about_a_url_that_would_be_refused(web, alice, guarded):
    form = web.post("/endpoints/+new/", {"endpoint_id": "x", "url": "http://localhost:8080/in", "method": "POST",
                                         "timeout": "oops"})
    assert form.status_code == 400 and "ENDPOINTS_ALLOW_PRIVATE_IPS" in form.text
    app = Connection.objects.create(owner=alice, name="A", destination_url="http://192.168.1.5/in")
    assert "ENDPOINTS_ALLOW_PRIVATE_IPS" in web.get(f"/applications/{app.pk}/").text


def test_no_warning_for_public_or_templated_urls_or_when_allowed(web, alice, settings):
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = False
    Endpoint.objects.create(owner=alice, endpoint_id="pub", url="https://example.com/in")
    Endpoint.objects.create(owner=alice, endpoint_id="tpl", url="https://{{payload.host}}/in")
    assert "url-warning" not in web.get("/endpoints/pub/").text
    assert "url-warning" not in web.get("/endpoints/tpl/").text
    settings.ENDPOINTS_ALLOW_PRIVATE_IPS = True
    Endpoint.objects.create(owner=alice, endpoint_id="local", url="http://127.0.0.1:9000/in")
    assert "url-warning" not in web.get("/endpoints/local/").text


def test_device_page_explains_site_url_when_it_is_loopback(web, device, settings):
    settings.SITE_URL = "http://127.0.0.1:8000"
    page = web.get("/devices/d1/")
    assert 'id="site-url-hint"' in page.text and "make run HOST=0.0.0.0" in page.text and "SITE_URL" in page.text
    settings.SITE_URL = "http://192.168.1.20:8000"
    assert 'id="site-url-hint"' not in web.get("/devices/d1/").text


def test_make_run_banner_explains_site_url(settings, capsys):
    settings.SITE_URL = "http://127.0.0.1:8000"
    call_command("demo")
    out = capsys.readouterr().out
    assert "make run HOST=0.0.0.0" in out and "SITE_URL" in out


def test_listening_everywhere_gives_lan_urls():
    assert default_site_url("127.0.0.1:8000") == "http://127.0.0.1:8000"
    assert default_site_url("0.0.0.0:8001") == f"http://{lan_address()}:8001"
    assert reachable_from_this_computer_only("localhost") and reachable_from_this_computer_only("127.0.0.1")
    assert not reachable_from_this_computer_only("192.168.1.20")
    assert not reachable_from_this_computer_only("iot.example.com")


def test_make_run_on_the_network_accepts_its_lan_url():
    """`make run HOST=0.0.0.0` sets BIND: the default SITE_URL is the LAN address, which the
    development ALLOWED_HOSTS then accepts (a board's callback would be a 400 otherwise)."""
    import os
    import subprocess
    import sys

    from tests.stack import ROOT

    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "ALLOWED_HOSTS", "DEBUG")}
    env.update(PYTHONPATH=str(ROOT), BIND="0.0.0.0:8123", DJANGO_SETTINGS_MODULE="platform.settings")
    code = "from django.conf import settings as s; print(s.SITE_URL, ' '.join(s.ALLOWED_HOSTS))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out[0] == f"http://{lan_address()}:8123"
    assert lan_address() in out[1:]


def test_create_device_in_another_terminal_prints_the_url_make_run_serves_at(alice, settings, tmp_path, capsys,
                                                                             monkeypatch):
    """`make run PORT=8124` sets BIND for its own processes; `manage.py create_device` in another
    terminal has neither, and printed port 8000. runstack leaves the URL it serves at under var/."""
    from platform.lan import served_site_url_file

    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delenv("BIND", raising=False)
    settings.VAR_DIR, settings.SITE_URL = tmp_path, "http://127.0.0.1:8000"
    served_site_url_file(tmp_path).write_text("http://127.0.0.1:8124\n")
    call_command("create_device", "alice", "board-1")
    assert "'http://127.0.0.1:8124/v3/users/alice/devices/board-1/callback/data'" in capsys.readouterr().out
    monkeypatch.setenv("SITE_URL", "https://iot.example.com")  # its own setting wins
    settings.SITE_URL = "https://iot.example.com"
    call_command("create_device", "alice", "board-2")
    assert "'https://iot.example.com/v3/users/alice/devices/board-2/callback/data'" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "named"), [(["bad id"], "'bad id' is not a device id"),
                                             (["board-3", "--bucket", "bad id/ü"], "'bad id/ü' is not a bucket id")])
def test_create_device_refuses_an_id_the_urls_cannot_hold(alice, args, named):
    """Such a bucket was created, and the buckets page answered 500 building its link."""
    with pytest.raises(CommandError, match=named):
        call_command("create_device", "alice", *args)
    assert not Device.objects.filter(owner=alice).exists() and not Bucket.objects.filter(owner=alice).exists()
