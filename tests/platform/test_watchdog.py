"""The worker watchdog's verdict (platform/watchdog.py); tests/e2e/test_faults_ingest.py has a stalled worker
restarted end to end."""
from types import SimpleNamespace

from kombu import Queue

from platform.celery import app
from platform.watchdog import Stall, Watchdog


def looks(stall, *observations):
    """(seconds, backlog, received, room) per look; the verdicts."""
    return [stall.observe(float(t), backlog, received, room) for t, backlog, received, room in observations]


def test_work_waiting_with_room_and_nothing_taken_is_a_stall_once_it_lasted():
    assert looks(Stall(30), (0, 3, 5, True), (10, 3, 5, True), (20, 4, 5, True), (30, 9, 5, True)) == [
        False, False, False, True]


def test_a_task_received_or_a_shorter_queue_is_progress_and_starts_the_count_again():
    assert looks(Stall(30), (0, 3, 5, True), (20, 3, 5, True), (30, 3, 6, True), (50, 3, 6, True),
                 (60, 3, 6, True)) == [False, False, False, False, True]
    assert looks(Stall(30), (0, 3, 5, True), (20, 3, 5, True), (30, 2, 5, True), (50, 2, 5, True)) == [
        False, False, False, False]


def test_no_stall_without_work_without_room_or_without_an_answer_from_the_broker():
    assert looks(Stall(30), (0, 0, 5, True), (40, 0, 5, True)) == [False, False]
    assert looks(Stall(30), (0, 3, 5, False), (40, 3, 5, False)) == [False, False]  # every slot busy
    assert looks(Stall(30), (0, 3, 5, True), (20, None, 5, True), (40, 3, 5, True), (60, 3, 5, True)) == [
        False, False, False, False]


def test_the_backlog_is_read_from_the_broker_empty_queues_included():
    names = ("watchdog-test-empty", "watchdog-test-two")
    consumer = SimpleNamespace(app=app, task_consumer=SimpleNamespace(queues=[Queue(n) for n in names]))
    watchdog = Watchdog(120)
    watchdog.consumer = consumer
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for name in names:
            channel.queue_purge(name)
        for _ in range(2):
            connection.Producer(channel).publish({"wake": 1}, routing_key=names[1])
        try:
            assert watchdog._backlog() == 2
        finally:
            channel.queue_purge(names[1])
    assert watchdog._backlog() == 0


def test_no_backlog_without_a_consumer_or_a_broker():
    watchdog = Watchdog(120)
    assert watchdog._backlog() is None  # before worker_ready
    broken = SimpleNamespace(connection_for_read=lambda: (_ for _ in ()).throw(OSError("refused")))
    watchdog.consumer = SimpleNamespace(app=broken, task_consumer=SimpleNamespace(queues=[]))
    assert watchdog._backlog() is None
