"""The Redis cache keeps one client per connection pool (platform/cache.py) and still behaves as
Django's: values round-trip."""
from django.core.cache import cache


def test_one_client_serves_every_call():
    client = cache._cache.get_client(write=True)
    cache.get("platform:test")
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client(write=False) is client  # one server: reads share the pool


def test_values_round_trip():
    cache.set("platform:test", {"a": 1}, 30)
    assert cache.get_many(["platform:test", "platform:none"]) == {"platform:test": {"a": 1}}
    assert cache.incr("platform:n", 1) if cache.add("platform:n", 1) else True
    cache.delete_many(["platform:test", "platform:n"])
    assert cache.get("platform:test") is None
