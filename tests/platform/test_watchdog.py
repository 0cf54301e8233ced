"""The worker watchdog's verdict (platform/watchdog.py); tests/e2e/test_faults_ingest.py has a stalled worker
restarted end to end."""
from platform.watchdog import Stall


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
