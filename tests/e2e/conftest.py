import pytest

from tests.e2e.faults import PrivateRedis


@pytest.fixture
def redis():
    """A private redis-server on a free loopback port, for tests that stop or hang it."""
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()
