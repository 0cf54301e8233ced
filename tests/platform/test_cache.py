"""The Redis cache (platform/cache.py) keeps one client per connection pool, sends the callback
path's operations on its own connection per thread, and still behaves as Django's."""
import threading
import uuid

import pytest
import redis
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean():
    yield
    cache.delete_many(["platform:test", "platform:none", "platform:n", "platform:flag", "platform:text"])


def test_one_client_serves_every_call():
    client = cache._cache.get_client(write=True)
    cache.get("platform:test")
    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client(write=False) is client  # one server: reads share the pool


def test_values_round_trip():
    cache.set("platform:test", {"a": 1}, 30)
    cache.set("platform:n", 7, 30)
    assert cache.get_many(["platform:test", "platform:none", "platform:n"]) == {"platform:test": {"a": 1},
                                                                                "platform:n": 7}
    assert cache.get_many([]) == {}
    assert cache.incr("platform:n", 1) == 8
    cache.delete("platform:test")
    assert cache.get("platform:test") is None


def test_add_sets_only_a_missing_key_with_its_expiry():
    assert cache.add("platform:flag", 1, timeout=30) is True
    assert cache.add("platform:flag", 2, timeout=30) is False
    assert cache.get("platform:flag") == 1
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_key("platform:flag")) <= 30
    assert cache.add("platform:none", "x", timeout=None) is True
    assert client.ttl(cache.make_key("platform:none")) == -1  # no expiry
    assert cache.add("platform:n", 1, timeout=0) is True  # Django's meaning: set, then expired
    assert cache.get("platform:n") is None


def test_count_creates_the_counter_with_its_expiry_and_counts():
    assert [cache.count("platform:n", 120) for _ in range(3)] == [1, 2, 3]
    assert 0 < cache._cache.get_client(write=True).ttl(cache.make_key("platform:n")) <= 120
    assert cache.get("platform:n") == 3  # Django reads the counter as the int it is


def test_an_error_reply_drops_the_connection_and_the_next_call_works():
    cache.set("platform:text", "not a number", 30)
    with pytest.raises(redis.ResponseError):
        cache.count("platform:text", 120)  # INCR on a pickled string
    assert cache.add("platform:flag", 1, timeout=30) is True


def test_a_connection_the_server_closed_is_reconnected_before_use():
    cache.add("platform:flag", 1, timeout=30)
    own = cache._cache._connection()
    name = f"platform-test-{threading.get_ident()}"
    own.send_command("CLIENT", "SETNAME", name)
    assert own.read_response() in (b"OK", "OK")
    client = cache._cache.get_client(write=True)
    killed = [client.client_kill_filter(_id=entry["id"]) for entry in client.client_list()
              if entry.get("name") == name]
    assert killed == [1]
    assert cache.get_many(["platform:flag"]) == {"platform:flag": 1}


def test_each_thread_has_its_own_connection():
    seen = []

    def use():
        cache.get_many(["platform:test"])
        seen.append(id(cache._cache._connection()))

    threads = [threading.Thread(target=use) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == 2


def test_a_prefixed_cache_clears_only_its_own_keys():
    # Two installations sharing one Redis database, each with its CACHE_KEY_PREFIX: clear_cache in
    # one leaves the other's entries (was: the whole database emptied). A glob character in a
    # prefix is taken literally.
    from django.conf import settings

    from platform.cache import RedisCache

    location = settings.CACHES["default"]["LOCATION"]  # the suite's Redis (CACHE_URL)
    tag = uuid.uuid4().hex[:8]
    ours, theirs, globbed = (RedisCache(location, {"KEY_PREFIX": f"{name}-{tag}"}) for name in ("ours", "theirs", "t*"))
    try:
        for one in (ours, theirs, globbed):
            one.set_many({f"k{n}": n for n in range(1500)}, 60)
        ours.clear()
        assert ours.get_many(["k1", "k1499"]) == {}
        assert theirs.get_many(["k1", "k1499"]) == {"k1": 1, "k1499": 1499}
        globbed.clear()
        assert globbed.get("k1") is None and theirs.get("k1") == 1
    finally:
        theirs.clear()
