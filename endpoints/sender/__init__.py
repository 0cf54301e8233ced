"""The delivery engine's sender: one process keeps many requests in flight, in order per lane.

A lane is one device's deliveries to one target. A sender holds some partitions of the lanes
(endpoints/partitions.py), so nobody else sends those lanes. It claims due deliveries of its
partitions in id order (several hundred at a time, marked with a row lease), queues them per lane,
and sends each lane's head while other lanes' requests are in flight, up to a per-target limit.
Requests run on an asyncio loop in a thread of their own (AsyncTransport); the database work stays
in the calling thread and is batched: one transaction settles every answer that has come in (one
INSERT for the attempts, one UPDATE per outcome kind).

Order per lane: a lane's next delivery is sent only after the one before is settled. A failure
that will be retried leaves the rest of its lane unclaimed (a claim skips any delivery behind an
older pending one that is not due); for a connection it pauses the whole connection (blame).
A delivery that can never be sent as configured is failed at once, with its reason, and the lane
goes on. At least once: a sender dying after the receiver answered but before the outcome was
settled means that delivery is sent again, with the same X-Message-Id.

Modules: `engine` (the Sender loop: partitions, claims, lanes, dispatch, settles), `io` (the
asyncio thread that sends, and the plain records passed between the two), `rows` (the SQL the
claims and settles run, and starting a sender).
"""
from endpoints.sender.engine import Sender
from endpoints.sender.rows import attempts_insert, claimable, senders_start, senders_wake_next

__all__ = ["Sender", "attempts_insert", "claimable", "senders_start", "senders_wake_next"]
