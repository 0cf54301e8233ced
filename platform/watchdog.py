"""A Celery worker that has stopped taking tasks shuts down, so that its supervisor starts a fresh one.

Why: after broker trouble a worker can stay alive and take nothing, silently. Its supervisor
(platform/supervise.py, docker-compose's restart policy) sees a healthy process while the inbox
fills and nothing is stored. One such way is mended in platform/broker.py; kombu and Celery have
had others, and more may come. The database holds all the work, so a fresh worker carries on where
the old one stopped.

A thread of the worker's main process looks every few seconds. The worker is stalled when, over
WORKER_STALL_SECONDS, its queues held messages and did not get fewer, it received none, and it had
room for more (fewer tasks reserved than its prefetch limit). It then shuts down as on SIGTERM
(running tasks finish) with exit status 70, and exits at once if still running GRACE seconds later.
"""
import contextlib
import logging
import os
import threading
import time
from typing import Any

from celery import signals

logger = logging.getLogger(__name__)

EXIT_STALLED = 70  # EX_SOFTWARE: not 0, so a restart policy "on failure" restarts it too
GRACE = 150.0  # the longest task may run 90 s (task_time_limit, platform/celery.py)


class Stall:
    """The verdict from successive looks: stalled once work waited, with room and nothing taken,
    for `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = 0.0
        self._received = -1
        self._backlog = 0
        self._since: float | None = None

    def observe(self, now: float, backlog: int | None, received: int, room: bool) -> bool:
        """`backlog`: messages waiting in the worker's queues (None: the broker did not say);
        `received`: tasks received so far; `room`: fewer reserved than the prefetch limit."""
        idle = (backlog is not None and backlog > 0 and room and received == self._received
                and backlog >= self._backlog)
        if idle and self._since is None:
            self._since = self._at  # idle since the previous look
        elif not idle:
            self._since = None
        # No answer from the broker: no baseline either, so the next look cannot count as idle.
        self._at, self._received, self._backlog = now, received if backlog is not None else -1, backlog or 0
        return self._since is not None and now - self._since >= self.seconds


class Watchdog:
    """One per worker process: counts the tasks received (Celery's task_received signal) and looks
    at the consumer it was given (worker_ready) from a daemon thread."""

    def __init__(self, seconds: float) -> None:
        self.stall = Stall(seconds)
        self.period = max(1.0, seconds / 4)
        self.received = 0
        self.consumer: Any = None
        self._thread: threading.Thread | None = None
        self._connection: Any = None

    def ready(self, consumer: Any) -> None:
        """Called on each worker_ready (again after the consumer restarts): the latest consumer."""
        self.consumer = consumer
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
            self._thread.start()

    def task_received(self) -> None:
        self.received += 1

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            try:
                stalled = self.stall.observe(time.monotonic(), self._backlog(), self.received, self._room())
            except Exception:  # a watchdog that died would watch nothing: say so and look again
                logger.exception("the worker's watchdog could not look")
                continue
            if stalled:
                self._shut_down()
                return

    def _room(self) -> bool:
        from celery.worker import state  # the worker's own modules: not loaded in the web server

        limit = getattr(getattr(self.consumer, "qos", None), "value", 0)
        return not limit or len(state.reserved_requests) < limit

    def _backlog(self) -> int | None:
        """Messages waiting in the queues the worker consumes, on a connection of the watchdog's
        own; None when the broker cannot say (then nothing is concluded)."""
        task_consumer = getattr(self.consumer, "task_consumer", None)
        if task_consumer is None:
            return None
        try:
            if self._connection is None:
                self._connection = self.consumer.app.connection_for_read()
            channel = self._connection.default_channel
            # Not passive: kombu's Redis transport says "no such queue" for an empty one.
            return sum(channel.queue_declare(queue=queue.name).message_count for queue in list(task_consumer.queues))
        except Exception:  # noqa: BLE001  broker trouble: the consumer has its own reconnection
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(Exception):  # a broken connection may fail to close too
                    connection.release()
            return None

    def _shut_down(self) -> None:
        logger.error("this worker took no task for %d s while its queues held messages and it had room "
                     "for more: shutting down so that its supervisor starts a fresh one",
                     self.stall.seconds)
        from celery.worker import state

        state.should_stop = EXIT_STALLED  # type: ignore[assignment]  # read by the consumer's loop: a warm shutdown
        time.sleep(GRACE)
        logger.error("still running %d s after the shutdown began: exiting now", GRACE)
        os._exit(EXIT_STALLED)


_watchdog: Watchdog | None = None


def _ready(sender: Any, **kwargs: Any) -> None:
    global _watchdog
    from django.conf import settings

    if not settings.WORKER_STALL_SECONDS:
        return
    if _watchdog is None:
        _watchdog = Watchdog(settings.WORKER_STALL_SECONDS)
    _watchdog.ready(sender)


def _received(**kwargs: Any) -> None:
    if _watchdog is not None:
        _watchdog.task_received()


def connect() -> None:
    """Watches every worker started from this app (platform/celery.py calls this)."""
    signals.worker_ready.connect(_ready, weak=False)
    signals.task_received.connect(_received, weak=False)
