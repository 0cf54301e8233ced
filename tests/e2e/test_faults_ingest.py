"""Fault tests on the ingest path (docs/devices.md: "A 200 means the message is committed... no record is
stored twice"; 503 with Retry-After when the database is down, never a 500).

Real web server (Granian), Celery worker and beat on a PRIVATE PostgreSQL cluster and PRIVATE Redis servers
(tests/e2e/faults.py), so the faults injected here never touch the shared servers. Every test runs
a load generator that counts each answer, injects one fault, then compares the messages answered
200 with the records in the bucket and prints the counts (accepted, stored, duplicated, lost)."""
import itertools
import signal
import statistics
import time

import pytest

from tests.e2e.faults import FaultStack as Stack
from tests.e2e.faults import (
    Load,
    PrivatePostgres,
    PrivateRedis,
    kill_tree,
    manage,
    pending_messages,
    reconcile,
    seed,
    stack_env,
    stored_counts,
)
from tests.stack import wait_until

pytestmark = pytest.mark.e2e
_names = itertools.count()


@pytest.fixture(scope="module")
def pg():
    """One private cluster for the module, with a migrated template database: each test copies it."""
    server = PrivatePostgres()
    server.start()
    server.query("CREATE DATABASE template_faults")
    env = stack_env(server, PrivateRedis(), "template_faults")
    manage(env, "migrate", "--noinput")
    yield server
    server.destroy()


@pytest.fixture
def env_for(pg, redis, tmp_path):
    """env_for(**settings) -> (environment, database name) on a fresh copy of the template."""
    def make(**extra):
        name = f"faults_{next(_names)}"
        pg.query(f"CREATE DATABASE {name} TEMPLATE template_faults")
        return stack_env(pg, redis, name, VAR_DIR=str(tmp_path / "var"), **extra), name

    return make


@pytest.fixture
def stacks():
    started = []

    def make(env, tmp_path):
        stack = Stack(env=env, tmp_path=tmp_path, inherit=False)
        started.append(stack)
        return stack

    yield make
    for stack in started:
        stack.stop()


def _latency(answers):
    took = [a[3] for a in answers] or [0.0]
    return f"n={len(answers)} median={statistics.median(took) * 1000:.0f}ms max={max(took) * 1000:.0f}ms"


def test_redis_down_20s_loses_nothing_and_callbacks_stay_fast(pg, redis, env_for, stacks, tmp_path):
    env, db = env_for()
    tokens = seed(env)
    # The worker runs as in production, under a restart policy: kombu can make it exit when
    # its Redis connection drops (platform/supervise.py); the test prints if that happened.
    stack = stacks(env, tmp_path).start_web().start_worker(supervised=True).start_beat()
    load = Load(stack.url, tokens, threads=4, rate=5).start()
    time.sleep(5)

    redis.stop()
    down_at = time.monotonic()
    time.sleep(20)
    redis.start()  # same port, empty: every queued wake-up is gone
    up_at = time.monotonic()
    time.sleep(8)
    load.stop()

    during = load.between(down_at, up_at)
    statuses = {s for _, _, s, _ in during}
    print(f"\nstatuses={dict(load.statuses)} while Redis was down: {_latency(during)}, statuses {statuses}")
    assert load.bad == [], load.bad[:10]
    assert during and statuses == {200}, "callbacks must keep being accepted while Redis is down"
    # The wake-up publish and the rate-limit counter must fail fast, not wait for the broker.
    assert max(a[3] for a in during) < 3.0, _latency(during)
    counts = reconcile(pg, db, load.accepted, "Redis down 20 s")
    print(f"worker restarts by its supervisor: {stack.log('worker').count('restarting it')}")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts


def test_redis_hung_does_not_hang_callbacks(pg, redis, env_for, stacks, tmp_path):
    """A Redis that accepts connections but never answers (SIGSTOP): the worst case for a client
    without socket timeouts."""
    env, db = env_for()
    tokens = seed(env)
    # The worker runs as in production, under a restart policy: kombu can make it exit when
    # its Redis connection drops (platform/supervise.py); the test prints if that happened.
    stack = stacks(env, tmp_path).start_web().start_worker(supervised=True).start_beat()
    load = Load(stack.url, tokens, threads=4, rate=5, timeout=20).start()
    time.sleep(3)
    redis.proc.send_signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    time.sleep(10)
    redis.proc.send_signal(signal.SIGCONT)
    resumed_at = time.monotonic()
    time.sleep(5)
    load.stop()

    during = load.between(stopped_at, resumed_at + 5)
    print(f"\nstatuses={dict(load.statuses)} while Redis hung: {_latency(during)}")
    assert load.bad == [], load.bad[:10]
    assert during and {s for _, _, s, _ in during} == {200}
    # Only the callbacks in flight when it hung wait for the socket timeouts; the others skip the
    # broker and the rate-limit counter for a few seconds (devices/accept.py ingest_wake).
    assert max(a[3] for a in during) < 5.0, _latency(during)
    assert statistics.median(a[3] for a in during) < 0.5, _latency(during)
    counts = reconcile(pg, db, load.accepted, "Redis hung 10 s")
    if counts["lost"]:  # what the worker said, for the next reader (once: the failed acks, next test)
        print(f"worker log (tail):\n{stack.log('worker')[-4000:]}")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts


def test_redis_hung_again_and_again_the_worker_keeps_taking_tasks(pg, redis, env_for, stacks, tmp_path):
    """Redis hung six times for 6 s: acks that fail while it hangs ("Couldn't ack") must
    not stop the worker taking tasks. kombu kept each such message as held, and a worker with as
    many of them as pool processes took nothing again (platform/broker.py RedisTransport)."""
    env, db = env_for()
    tokens = seed(env)
    stack = stacks(env, tmp_path).start_web().start_worker(supervised=True).start_beat()
    load = Load(stack.url, tokens, threads=4, rate=5, timeout=20).start()
    time.sleep(3)
    for _ in range(6):
        redis.proc.send_signal(signal.SIGSTOP)
        time.sleep(6)
        redis.proc.send_signal(signal.SIGCONT)
        # The backlog drains within the redrive's period (30 s) while the worker takes tasks.
        wait_until(lambda: pending_messages(pg, db) < 50, timeout=40, interval=1, what="the backlog to drain")
    load.stop()

    failed_acks = stack.log("worker").count("Couldn't ack")
    print(f"\nstatuses={dict(load.statuses)}, acks that failed while Redis hung: {failed_acks}")
    assert load.bad == [], load.bad[:10]
    counts = reconcile(pg, db, load.accepted, "Redis hung six times")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts


def test_a_worker_that_stops_taking_tasks_shuts_down_and_its_supervisor_restarts_it(pg, redis, env_for, stacks,
                                                                                    tmp_path):
    """A worker alive but taking nothing (injected: tests/e2e/stall_once.py) is found by its
    watchdog (platform/watchdog.py), shuts down with status 70 and comes back; nothing lost."""
    flag = tmp_path / "stall"
    env, db = env_for(WORKER_STALL_SECONDS="12", STALL_FLAG=str(flag))
    tokens = seed(env)
    stack = stacks(env, tmp_path).start_web().start_beat()
    stack.start_worker(supervised=True, extra=("--include", "tests.e2e.stall_once"))
    load = Load(stack.url, tokens, threads=4, rate=5).start()
    time.sleep(5)
    flag.touch()
    wait_until(lambda: "restarting it" in stack.log("worker"), timeout=90, interval=1,
               what="the stalled worker to be restarted")
    time.sleep(5)
    load.stop()

    log = stack.log("worker")
    print(f"\nstatuses={dict(load.statuses)}, pending after the restart: {pending_messages(pg, db)}")
    assert not flag.exists()  # the stall did happen
    assert "took no task for 12 s" in log and "exited with code 70" in log, log[-3000:]
    assert load.bad == [], load.bad[:10]
    counts = reconcile(pg, db, load.accepted, "worker stalled, restarted")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts


def test_worker_killed_mid_batch_loses_and_duplicates_nothing(pg, redis, env_for, stacks, tmp_path):
    env, db = env_for(INGEST_BATCH_SIZE="100")
    tokens = seed(env)
    # A committed backlog, as if the workers had been away: 4000 inbox messages.
    backlog = set(range(1_000_000, 1_004_000))
    device_pk = pg.query("SELECT id FROM devices_device WHERE device_id='d0'", dbname=db)[0][0]
    pg.query("INSERT INTO devices_message (device_id, payload, size, ts) "
             "SELECT %s, jsonb_build_object('seq', s, 'device', 'd0'), 20, 1700000000000 + s "
             "FROM generate_series(1000000, 1003999) s", (device_pk,), dbname=db)
    # Beat runs as in production: the killed worker's wake-up is gone with it (Redis only hands an
    # unacked message back after its visibility timeout), and the redrive is what finds its batch.
    stack = stacks(env, tmp_path).start_web().start_beat()
    load = Load(stack.url, tokens, threads=2, rate=5).start()
    stack.start_worker("worker1")

    def in_a_batch():
        stored = len(stored_counts(pg, db))
        busy = pg.query("SELECT count(*) FROM pg_stat_activity WHERE datname=%s AND xact_start IS NOT NULL "
                        "AND pid <> pg_backend_pid()", (db,), dbname=db)[0][0]
        return 0 < stored < len(backlog) and busy > 0 and stored

    stored_at_kill = wait_until(in_a_batch, timeout=60, interval=0.02, what="the worker in the middle of the backlog")
    killed = kill_tree(stack.processes.pop("worker1"))
    print(f"\nSIGKILLed worker processes {killed} with {stored_at_kill}/{len(backlog)} backlog records stored")
    time.sleep(2)
    stack.start_worker("worker2")
    time.sleep(5)
    load.stop()

    print(f"statuses={dict(load.statuses)}")
    assert load.bad == [], load.bad[:10]
    counts = reconcile(pg, db, load.accepted | backlog, "worker SIGKILL mid-batch")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts
    assert pending_messages(pg, db) == 0


def test_postgres_down_answers_503_then_resumes(pg, redis, env_for, stacks, tmp_path):
    env, db = env_for()
    tokens = seed(env)
    # The worker runs as in production, under a restart policy: kombu can make it exit when
    # its Redis connection drops (platform/supervise.py); the test prints if that happened.
    stack = stacks(env, tmp_path).start_web().start_worker(supervised=True).start_beat()
    load = Load(stack.url, tokens, threads=4, rate=5).start()
    time.sleep(4)

    pg.stop("immediate")
    down_at = time.monotonic()
    time.sleep(15)
    restart_at = time.monotonic()  # from here on a 200 is right: the server may be up before start() returns
    pg.start()
    up_at = time.monotonic()
    time.sleep(8)
    load.stop()

    during = load.between(down_at, restart_at)
    after = load.between(up_at + 3, time.monotonic())  # reconnecting takes a moment
    during_statuses = {s for _, _, s, _ in during}
    after_statuses = {s for _, _, s, _ in after}
    print(f"\nstatuses={dict(load.statuses)}; while down: {_latency(during)} {during_statuses}; "
          f"after: {after_statuses}")
    assert load.bad == [], load.bad[:10]  # no 500, no 503 without Retry-After, no dropped connection
    assert during and during_statuses == {503}
    assert after and after_statuses == {200}, "intake must resume by itself"
    counts = reconcile(pg, db, load.accepted, "PostgreSQL down 15 s")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts


def test_beat_stopped_and_restarted_catches_up(pg, redis, env_for, stacks, tmp_path):
    """Messages whose wake-up was lost and a device past its timeout wait for beat; when beat comes
    back the redrive and the timeout sweep catch up."""
    env, db = env_for()
    tokens = seed(env)
    stack = stacks(env, tmp_path).start_web().start_beat()
    time.sleep(3)
    stack.stop("beat")

    load = Load(stack.url, tokens, threads=2, rate=5).start()  # no worker yet: wake-ups queue up in Redis
    time.sleep(4)
    load.stop()
    redis.flushall()  # ...and are lost
    pg.query("UPDATE devices_device SET disconnect_at = now() - interval '1 minute' WHERE device_id='d0'", dbname=db)
    stack.start_worker()
    time.sleep(8)
    waiting = pending_messages(pg, db)
    print(f"\nstatuses={dict(load.statuses)}; pending with a worker but no beat: {waiting}")
    assert waiting == len(load.accepted) > 0, "the lost wake-ups leave the messages pending until the redrive"

    stack.start_beat()
    wait_until(lambda: pending_messages(pg, db) == 0, timeout=75, interval=1, what="the redrive")
    wait_until(lambda: pg.query("SELECT NOT connected FROM devices_device WHERE device_id='d0'", dbname=db)[0][0],
               timeout=45, interval=1, what="the timeout sweep")
    assert load.bad == [], load.bad[:10]
    counts = reconcile(pg, db, load.accepted, "beat stopped and restarted")
    assert counts["lost"] == 0 and counts["duplicated"] == 0, counts
