"""The brokers (platform/broker.py): the embedded one, a SQLite file kombu can use, in WAL mode, and
pruned; and kombu's Redis transport with its mend."""
import signal
import sqlite3

import pytest
from kombu import Connection, Queue

from platform.broker import embedded_broker, embedded_broker_prune


def test_embedded_broker_carries_messages_in_wal_mode(tmp_path):
    url, options = embedded_broker(tmp_path / "broker.sqlite3")
    with sqlite3.connect(tmp_path / "broker.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Connection(url, transport_options=options) as conn:
        queue = conn.SimpleQueue("ingest")
        queue.put({"a": 1})
        queue.put({"b": 2})
        assert queue.get(timeout=5).payload == {"a": 1}
        assert queue.get(timeout=5).payload == {"b": 2}
        queue.close()
    # Taken messages are only marked invisible by kombu; the prune deletes them.
    assert embedded_broker_prune(tmp_path / "broker.sqlite3") == 2
    assert embedded_broker_prune(tmp_path / "broker.sqlite3") == 0


def test_prune_of_a_missing_file_is_a_no_op(tmp_path):
    assert embedded_broker_prune(tmp_path / "nothing.sqlite3") == 0


def test_a_message_whose_ack_failed_gives_its_prefetch_slot_back(redis):
    """kombu kept a message whose ack could not reach Redis as held, so a worker with as many
    failed acks as prefetch slots took no task again (seen with Redis hung, tests/e2e)."""
    options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    with Connection(redis.url(), transport="platform.broker:RedisTransport",
                    transport_options=options) as conn:
        channel = conn.channel()
        channel.basic_qos(0, 1, False)  # one slot, as a worker of one process has
        queue = Queue("ingest", channel=channel)
        queue.declare()
        producer = conn.Producer(channel)
        for n in (1, 2):
            producer.publish({"n": n}, routing_key="ingest")
        held = queue.get(no_ack=False)
        assert held.payload == {"n": 1}
        assert not channel.qos.can_consume()

        redis.proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(conn.connection_errors):
                held.ack()
        finally:
            redis.proc.send_signal(signal.SIGCONT)

        assert channel.qos.can_consume()
        assert queue.get(no_ack=False).payload == {"n": 2}
