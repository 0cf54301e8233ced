"""Schemathesis (an independent OpenAPI fuzzer) against a live server of this project, as alice
with real objects pinned as path parameters: a bucket, a device with a property attached to a
connection, an endpoint, the connection and its downlink secret, an alarm rule with an open alarm,
a dashboard, a delivery to the endpoint and one to the connection. Checks (tests/fuzz/schemathesis.toml):
no 5xx, every status is one the schema documents, every body matches its schema, and invalid data
refused where the schema is strict. Fixed seed, bounded examples per operation; `make fuzz` runs
the same with many more (FUZZ_EXAMPLES).

Outbound calls (`/call` on an endpoint whose URL the fuzzer may change to anything) never leave
the machine: every name resolves to 127.0.0.1 here, the far side of outbound HTTP."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from alarms.services import alarm_activate, rule_create
from buckets.models import Bucket
from dashboards.services import dashboard_create
from devices.services import device_create, property_create
from endpoints.models import Connection, Delivery, Endpoint
from platform.models import AccessToken

CONFIG = Path(__file__).resolve().parents[1] / "fuzz" / "schemathesis.toml"
# The checks are the config file's (negative_data_rejection only on the operations it names);
# FUZZ_CHECKS=a,b overrides them for every operation, FUZZ_PATHS=<regex> limits the run for a look.
# Two workers (FUZZ_WORKERS): the run waits on the server far more than it computes, and the first
# pass deletes nothing, so operations may run side by side; it stays within two minutes.
CHECKS = os.environ.get("FUZZ_CHECKS")
PATHS = os.environ.get("FUZZ_PATHS")


@pytest.fixture
def local_names_only(monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def pinned(transactional_db, alice, receiver, settings, local_names_only):
    settings.DEVICE_RATE_LIMIT = 0
    bucket = Bucket.objects.create(owner=alice, bucket_id="b1", name="Bucket one")
    endpoint = Endpoint.objects.create(owner=alice, endpoint_id="e1", url=f"{receiver.url}/in", timeout=2)
    connection = Connection.objects.create(owner=alice, name="App", destination_url=f"{receiver.url}/uplink")
    device, device_token = device_create(owner=alice, device_id="d1", write_bucket=bucket, applications=[connection])
    property_create(device=device, name="p1", value={"interval": 10})
    _, token = AccessToken.issue(user=alice, name="fuzz")
    return {"FUZZ_USER": "alice", "FUZZ_DEVICE": "d1", "FUZZ_BUCKET": "b1", "FUZZ_ENDPOINT": "e1",
            "FUZZ_PROPERTY": "p1", "FUZZ_CONNECTION": str(connection.pk), "FUZZ_SECRET": connection.downlink_secret,
            "FUZZ_TOKEN": token, "FUZZ_DEVICE_TOKEN": device_token,
            **_alarm_and_dashboard(alice, bucket, device), **_deliveries(alice, endpoint, connection)}


def _alarm_and_dashboard(owner, bucket, device):
    """A rule with an open alarm and a dashboard, so their operations reach past the 404."""
    rule = rule_create(owner=owner, rule_id="r1", source_type="bucket", bucket=bucket, field="temperature",
                       condition={"op": "gt", "value": 30}, severity="high")
    alarm = alarm_activate(rule=rule, device_pk=device.pk, value=31)
    dashboard_create(owner=owner, dashboard_id="db1", name="Dashboard one")
    return {"FUZZ_RULE": "r1", "FUZZ_ALARM": str(alarm.pk), "FUZZ_DASHBOARD": "db1"}


def _deliveries(owner, endpoint, connection):
    """One delivery per kind of target: the two `{delivery}` paths name different rows."""
    common = {"owner": owner, "device_id": "d1", "payload": {"temperature": 21}, "ts": 1764547200000,
              "state": Delivery.FAILED}
    to_endpoint = Delivery.objects.create(endpoint=endpoint, **common)
    to_connection = Delivery.objects.create(connection=connection, **common)
    return {"FUZZ_DELIVERY": str(to_endpoint.pk), "FUZZ_CONNECTION_DELIVERY": str(to_connection.pk)}


def _run(live_server, pinned, report_dir, *methods):
    """One Schemathesis run over the operations of these methods; (exit code, its report)."""
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run",
               f"{live_server.url}/api/schema/", "--url", live_server.url,
               "--phases", os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing"),
               "--max-examples", os.environ.get("FUZZ_EXAMPLES", "8"), "--seed", "20261201",
               "--workers", os.environ.get("FUZZ_WORKERS", "2"), "--request-timeout", "30", "--no-color", "--generation-database", "none",
               "--report", "junit", "--report-dir", str(report_dir)]
    command += [f"--include-method-regex=^({'|'.join(methods)})$"]
    command += [f"--checks={CHECKS}"] if CHECKS else []
    command += [f"--include-path-regex={PATHS}"] if PATHS else []
    done = subprocess.run(command, env={**os.environ, **pinned}, capture_output=True, text=True, timeout=3600,
                          check=False, cwd=report_dir)
    return done.returncode, done.stdout[-20000:] + done.stderr[-5000:]


def test_schemathesis_finds_nothing(live_server, pinned, tmp_path):
    # Deletions last: run among the others, they would delete the pinned objects early and leave
    # most operations answering 404.
    for methods in (("GET", "POST", "PUT", "PATCH"), ("DELETE",)):
        code, report = _run(live_server, pinned, tmp_path, *methods)
        assert code == 0, report
