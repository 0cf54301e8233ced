"""A bounded version of tests/e2e/soak.py: `make run`'s stack under a trickle of callbacks, with
beat's tasks firing together, must neither lose a message nor crash or restart a process."""
import pytest

from tests.e2e.soak import soak

pytestmark = pytest.mark.e2e


def test_embedded_stack_runs_without_crashes_under_a_trickle(tmp_path):
    # 75 s covers several rounds of beat sending two or three tasks in the same second (10 s and
    # 30 s schedules), which is what used to kill the worker on the filesystem broker.
    result = soak(75, rate=2.0, workdir=tmp_path)
    assert result["accepted"] == result["sent"] > 100, result
    assert result["stored"] == result["accepted"], result
    problems = {k: result[k] for k in ("restarts", "unrecoverable", "tracebacks", "broker_lost", "errors")}
    assert problems == dict.fromkeys(problems, 0), result
