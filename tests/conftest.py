"""Three people, as everywhere in these tests: alice owns things, bob is another user, charlie
is the outsider who must get 404s. And a Redis of the test's own, for tests that stop or hang it."""
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from buckets.models import Bucket
from devices.services import device_create
from platform.models import AccessToken


def _user(name):
    return get_user_model().objects.create_user(name, f"{name}@example.com", f"{name}-password-1")


@pytest.fixture
def alice(db):
    return _user("alice")


@pytest.fixture
def bob(db):
    return _user("bob")


@pytest.fixture
def charlie(db):
    return _user("charlie")


@pytest.fixture
def web(client, alice):
    """A browser session signed in as alice."""
    client.force_login(alice)
    return client


@pytest.fixture
def root(client, django_user_model):
    """A browser session signed in as a superuser, for the admin's pages."""
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-password-1"))
    return client


@pytest.fixture
def api():
    """api(user) -> an APIClient that sends that user's access token."""

    def client_for(user):
        client = APIClient()
        _, token = AccessToken.issue(user=user, name="test")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return client_for


@pytest.fixture
def bucket(alice):
    return Bucket.objects.create(owner=alice, bucket_id="b1", name="Bucket one")


@pytest.fixture
def device(alice, bucket):
    """alice's device d1 writing into b1; its plain callback token is on `.token`."""
    created, token = device_create(owner=alice, device_id="d1", write_bucket=bucket)
    created.token = token
    return created


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus: end-to-end tests start server and worker processes,
    and a connection one of them leaves behind would stop the database from being dropped."""
    yield
    from django.db import connection

    from platform import backends

    if not backends.POSTGRESQL:
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture
def redis():
    """A private redis-server on a free loopback port, for tests that stop or hang it (SIGSTOP):
    stopping it kills it whatever its state."""
    from tests.e2e.faults import PrivateRedis

    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
