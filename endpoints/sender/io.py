"""The sending side of a sender: an asyncio loop in a thread of its own with one AsyncTransport,
and the plain records the engine and this thread pass each other."""
import asyncio
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import datetime

from endpoints.models import Delivery
from endpoints.targets import Request
from endpoints.transport import AsyncTransport, TransportError

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class Claimed:
    """What a sender needs of a claimed delivery (lighter than a model instance)."""

    pk: int
    endpoint_id: int | None
    connection_id: object
    message_id: int | None
    device_id: str
    device_name: str
    payload: object
    ts: int
    attempts: int
    lane: int


@dataclass
class Outcome:
    delivery: Delivery | Claimed
    url: str = ""
    status: int | None = None
    ms: int = 0
    body: str = ""
    error: str = ""
    permanent: bool = False
    freed: bool = False  # its target's request slot was given back
    sent_at: datetime | None = None  # when the request was handed to the loop (None: never sent)

    @property
    def ok(self) -> bool:
        return not self.error


def failed_outcome(delivery: Delivery | Claimed, exc: Exception, url: str = "") -> Outcome:
    return Outcome(delivery, url=url, error=str(exc), permanent=getattr(exc, "permanent", True))


class IoLoop:
    """An asyncio loop in its own thread with one AsyncTransport. submit() returns at once; each
    outcome arrives on `done` (a thread-safe queue)."""

    def __init__(self) -> None:
        self.done: queue.Queue[Outcome] = queue.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True, name="delivery-io")
        self.thread.start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.transport = self.loop.run_until_complete(self._open())
        ready.set()
        self.loop.run_forever()

    @staticmethod
    async def _open() -> AsyncTransport:
        return AsyncTransport()

    def submit(self, batch: list[tuple[Claimed, Request, float]], sent_at: datetime | None = None) -> None:
        """Starts [(delivery, request, timeout), ...] on the loop: one wake-up of its thread.
        `sent_at` (one clock reading for the batch) is carried to each outcome."""
        if batch:
            self.loop.call_soon_threadsafe(self._start, batch, sent_at)

    def _start(self, batch: list[tuple[Claimed, Request, float]], sent_at: datetime | None) -> None:
        for delivery, request, timeout in batch:
            task = self.loop.create_task(self._send(delivery, request, timeout, sent_at))
            self.tasks.add(task)  # the loop keeps only weak references to its tasks
            task.add_done_callback(self.tasks.discard)

    async def _send(self, delivery: Claimed, request: Request, timeout: float, sent_at: datetime | None) -> None:
        method, url, headers, body = request
        try:
            answer = await self.transport.send(method=method, url=url, headers=headers, body=body, timeout=timeout)
            error = "" if answer.ok else f"HTTP {answer.status}: only a 2xx answer counts as delivered."
            outcome = Outcome(delivery, url=url, status=answer.status, ms=answer.ms, body=answer.body, error=error)
        except TransportError as exc:
            outcome = failed_outcome(delivery, exc, url)
        except Exception as exc:  # nothing may wedge a target: log it as the attempt's reason
            logger.exception("unexpected error sending delivery %s", delivery.pk)
            outcome = Outcome(delivery, url=url, error=f"Unexpected error: {exc!r}", permanent=True)
        outcome.sent_at = sent_at
        self.done.put(outcome)

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.transport.close(), self.loop).result(5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
