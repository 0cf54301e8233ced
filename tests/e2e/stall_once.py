"""Imported into a test's Celery worker (`celery worker --include tests.e2e.stall_once`): once the
file named by STALL_FLAG appears, this process takes no more tasks, as a worker could after
broker trouble (platform/broker.py). The file is removed, so the worker started after it is
healthy."""
import os

from platform.broker import _RedisQoS

_can_consume = _RedisQoS.can_consume
_stalled = False


def can_consume(self):
    global _stalled
    flag = os.environ.get("STALL_FLAG")
    if not _stalled and flag and os.path.exists(flag):
        os.remove(flag)
        _stalled = True
    return not _stalled and _can_consume(self)


_RedisQoS.can_consume = can_consume
