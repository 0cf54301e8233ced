"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django builds a new `redis.Redis` for every cache operation, and redis-py's constructor builds its
table of ~170 response callbacks each time: measured with tests/perf/profile_callback.py, that was
a sixth of the callback's CPU (two cache operations per callback). A client is a thin handle on
its pool, so one per pool will do (Django gives each thread its own cache object, pools included)."""
from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private, not in django-stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]  # as above
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
