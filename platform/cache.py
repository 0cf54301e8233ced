"""Django's Redis cache, made cheap enough for the device callback's three cache operations.

- One Redis client per connection pool instead of one per call. Django builds a new `redis.Redis`
  for every cache operation, and redis-py's constructor builds its table of ~170 response
  callbacks each time: measured with tests/perf/profile_callback.py, that was a sixth of the
  callback's CPU. A client is a thin handle on its pool, so one per pool will do (Django gives
  each thread its own cache object, pools included).
- get_many, add, `count` (the rate-limit counter) and get_many_and_count (the callback's device
  lookup and rate count in one round trip) pack their commands themselves and send them in one
  write on the thread's own connection (kept out of the pool), then read the raw replies: no
  retry wrapper, response callbacks, pipeline object or pool bookkeeping per call.
  Measured in process, a callback's three cache operations took 440 µs of CPU through redis-py's
  client and Django's key checks, about 220 µs this way; see docs/performance.md, "Intake levers".
- No memcached key warnings: Django checks every key for what memcached cannot store (length,
  spaces, control characters), character by character; Redis stores any key.
"""
import os
import re
import threading
from typing import Any

import redis
from django.core.cache.backends import redis as django_redis

Command = tuple[Any, ...]


def _packed(command: Command) -> bytes:
    """One command in Redis' wire format (RESP: an array of bulk strings). redis-py's own packer
    encodes each argument through several checks and cost a quarter of the round trip."""
    parts = [b"*%d\r\n" % len(command)]
    for arg in command:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._local = threading.local()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private, not in django-stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]  # as above
        return client

    def round_trip(self, *commands: Command) -> list[Any]:
        """Sends the commands in one write and returns their raw replies (bytes, int or None). An
        error reply or a socket error raises, and the connection is dropped (replies may be left
        unread on it). No retry: the callback path pauses a failing cache instead
        (devices/cache.py)."""
        connection = self._connection()
        try:
            connection.send_packed_command([b"".join(map(_packed, commands))])
            return [connection.read_response() for _ in commands]
        except BaseException:
            connection.disconnect()
            raise

    def _connection(self) -> Any:
        """This thread's own connection, kept out of the pool: the pool's bookkeeping per use
        (a lock, metrics) cost more than the commands. Made anew in a forked child. Checked as the
        pool checks what it hands out: a connection the server closed (or that has stray data)
        is reconnected before use."""
        local = self._local
        connection = getattr(local, "connection", None)
        if connection is None or local.pid != os.getpid():
            connection = local.connection = self._get_connection_pool(True).make_connection()  # type: ignore[attr-defined]  # as above
            local.pid = os.getpid()
        connection.connect()  # at once if connected
        try:
            stale = connection.can_read()
        except (OSError, redis.RedisError):
            stale = True
        if stale:
            connection.disconnect()
            connection.connect()
        return connection

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        if not keys:
            return {}
        return self._found(keys, self.round_trip(("MGET", *keys))[0])

    def _found(self, keys: list[Any], values: list[Any]) -> dict[Any, Any]:
        """MGET's replies as get_many answers them: the keys that hold a value, decoded."""
        return {key: self._serializer.loads(value)  # type: ignore[attr-defined]  # as above
                for key, value in zip(keys, values, strict=True) if value is not None}

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        if timeout == 0:  # Django's meaning (set and at once expire): its own code
            return super().add(key, value, timeout)
        expiry = () if timeout is None else ("EX", int(timeout))
        stored = self._serializer.dumps(value)  # type: ignore[attr-defined]  # as above
        return self.round_trip(("SET", key, stored, *expiry, "NX"))[0] is not None

    def count(self, key: Any, timeout: int) -> int:
        """Adds one to the counter at `key`, created with the expiry `timeout` (s); returns the count."""
        return self.round_trip(*_counted(key, timeout))[1]

    def get_many_and_count(self, keys: list[Any], key: Any, timeout: int) -> tuple[dict[Any, Any], int]:
        """get_many and count in one round trip."""
        values, _, count = self.round_trip(("MGET", *keys), *_counted(key, timeout))
        return self._found(keys, values), count


def _counted(key: Any, timeout: int) -> tuple[Command, Command]:
    return ("SET", key, 0, "EX", timeout, "NX"), ("INCR", key)


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def validate_key(self, key: Any) -> None:
        pass  # see the module docstring

    def clear(self) -> None:
        """Empties the database, as Django's does; with a KEY_PREFIX (CACHE_KEY_PREFIX), only the
        keys under it, so that installations sharing the database keep each other's entries."""
        if not self.key_prefix:
            super().clear()
            return
        client = self._cache.get_client(write=True)  # type: ignore[attr-defined]  # private, not in django-stubs
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self.key_prefix) + ":*"  # Django's keys: prefix:version:key
        keys: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            keys.append(key)
            if len(keys) == 1000:
                client.unlink(*keys)
                keys = []
        if keys:
            client.unlink(*keys)

    def count(self, key: str, timeout: int) -> int:
        return self._cache.count(self.make_key(key), timeout)  # type: ignore[attr-defined]  # private, not in django-stubs

    def get_many_and_count(self, keys: list[str], key: str, timeout: int) -> tuple[dict[str, Any], int]:
        """The callback's device lookup and rate count in one round trip (devices/selectors.py)."""
        made = {self.make_key(k): k for k in keys}
        found, count = self._cache.get_many_and_count(list(made), self.make_key(key), timeout)  # type: ignore[attr-defined]  # as above
        return {made[k]: value for k, value in found.items()}, count
