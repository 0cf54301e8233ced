"""The embedded broker (platform/broker.py): a SQLite file kombu can use, in WAL mode, and pruned."""
import sqlite3

from kombu import Connection

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
