"""The Celery brokers: the embedded one (kombu's SQLAlchemy transport on a SQLite file under var/),
and kombu's Redis transport with one mend (RedisTransport, below).

Why not kombu's filesystem transport (the first choice): its consumer reads a message file while
the publisher may still be writing it, and under `make run` the worker died with "Unrecoverable
error: JSONDecodeError" right after beat sent two tasks at once. SQLite gives each publish and
each claim a transaction, so a half-written message is never seen, and it needs no server.
"""
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

# Seconds a publisher or the worker waits for SQLite's write lock before giving up. Every claim
# takes the lock (BEGIN IMMEDIATE in kombu), so web, worker and beat share it; the default 5 s
# was too short on a busy machine.
LOCK_TIMEOUT = 30


def embedded_broker(path: Path) -> tuple[str, dict[str, Any]]:
    """The broker URL and transport options for a SQLite file at `path` (created in WAL mode, so
    a reader never waits for a writer)."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the file itself
    return f"sqla+sqlite:///{path}", {"connect_args": {"timeout": LOCK_TIMEOUT}}


def embedded_broker_prune(path: Path) -> int:
    """Deletes the messages the worker has already taken. kombu's SQLAlchemy transport only marks
    them invisible, so the file would grow forever; `manage.py runstack` calls this at start,
    when no worker holds one. Returns how many were deleted."""
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=LOCK_TIMEOUT) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "kombu_message" not in tables:
            return 0
        return db.execute("DELETE FROM kombu_message WHERE visible = 0").rowcount


def embedded_queues_declare() -> None:
    """Creates the broker's tables and queues before the workers start: two workers (storage and
    deliveries) declaring them at the same moment race on kombu's get-or-create of a queue row
    (UNIQUE constraint failed: kombu_queue.name), and the loser exits."""
    from platform.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.conf.task_queues:
            queue(channel).declare()


class _RedisQoS(kombu_redis.QoS):
    """kombu's bookkeeping of the messages a worker holds, except that a message whose ack (or
    reject) could not reach Redis still gives its prefetch slot back.

    kombu forgets a message only after Redis has answered the ack, so an ack that failed (Redis hung
    or gone at that moment: "Couldn't ack" in the worker's log) kept its slot for good. A worker
    has as many slots as pool processes (prefetch multiplier 1), so after that many failed acks it
    took no task again, silently, while its queues filled: storage stopped until someone restarted
    it (seen in tests/e2e/test_faults_ingest.py with Redis hung for 10 s). The message itself stays
    in Redis's set of unacknowledged messages, from which kombu restores it after the visibility
    timeout: one late duplicate of a wake-up, which costs nothing here (the database holds the work)."""

    def ack(self, delivery_tag: str) -> None:
        with self._slot_given_back(delivery_tag):
            super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        with self._slot_given_back(delivery_tag):
            super().reject(delivery_tag, requeue=requeue)

    @contextmanager
    def _slot_given_back(self, delivery_tag: str) -> Iterator[None]:
        """When Redis did not take the ack or reject: forget the message here all the same (the
        base class's bookkeeping), and let the error through for Celery to log."""
        try:
            yield
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise


class _RedisChannel(kombu_redis.Channel):
    QoS = _RedisQoS


class RedisTransport(kombu_redis.Transport):
    """kombu's Redis transport with _RedisQoS: settings.py names it for redis:// and rediss:// brokers."""

    Channel = _RedisChannel
