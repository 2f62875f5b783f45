"""Losing a worker (kill -9 mid-run) or Redis (stopped, then restarted on its AOF) loses no submission.

The bounds come from the stack's recovery timing (conftest): a dead worker's heartbeat key expires
within HEARTBEAT_TTL_S, the next janitor sweep (every JANITOR_INTERVAL_S) requeues what it held.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import requests

from actors.store import SubmissionStore
from kodewar.stack import LocalStack
from sandbox.statuses import Status
from tests.integration.service.conftest import (
    HEARTBEAT_TTL_S,
    JANITOR_INTERVAL_S,
    SLOTS,
    WORKERS,
    ClientFactory,
    live_workers,
    metrics_port,
    process_of,
)
from tests.integration.service.support import (
    ACCEPTED,
    ORPHAN_AFTER_EXIT_S,
    SEED,
    Client,
    orphaned_sandboxes,
    remove_containers,
    scrape,
    sleeper,
    status_id,
    wait_until,
)

SLEEP_S = 3.0
SANDBOX_OVERHEAD_S = 3.0  # container create/start/remove, interpreter start, dispatch
MARGIN_S = 2.0
RECOVERY_BOUND_S = HEARTBEAT_TTL_S + JANITOR_INTERVAL_S + SLEEP_S + SANDBOX_OVERHEAD_S + MARGIN_S
OUTAGE_ANSWER_BOUND_S = 5.0  # the API answers within this while Redis is down: no hang
API_RECOVERY_BOUND_S = 15.0
# After Redis returns: Dramatiq restarts consumers after 3 s and retries a pending ack every 5 s, then the
# janitor (1 s) requeues what lost its result write, and the sleepers run again (4 in parallel on 4 slots).
PRE_OUTAGE_FINISH_BOUND_S = 3 + 5 + JANITOR_INTERVAL_S + HEARTBEAT_TTL_S + SLEEP_S + SANDBOX_OVERHEAD_S + MARGIN_S


def claimed(store: SubmissionStore, submission_id: str) -> Any:
    record = store.get(submission_id)
    return record if record is not None and record.status is Status.PROCESSING and record.worker else None


@dataclass
class Killed:
    submission_id: str
    victim_id: str
    survivor_id: str
    survivor_port: int
    submitted_wall: float
    killed_wall: float
    killed: float  # time.monotonic()
    finished_before: float
    recovered_before: float


def kill_owner_mid_run(stack: LocalStack, api: Client) -> Killed:
    """Submit a sleeper, wait until it runs, then kill -9 the worker process that holds it."""
    store = SubmissionStore(stack.redis_client())
    submitted_wall = time.time()
    response = api.post("/api/v1/submissions", sleeper(SLEEP_S))
    assert response.status_code == 202, response.text
    submission_id = response.json()["submission_id"]
    record = wait_until(lambda: claimed(store, submission_id), 10, "a worker to claim the submission")
    time.sleep(1.0)  # the container is up and the program inside sleeps
    assert store.get(submission_id).status is Status.PROCESSING  # type: ignore[union-attr]

    fleet = live_workers(stack)
    victim = process_of(stack, int(fleet[record.worker]["pid"]))  # type: ignore[call-overload]
    (survivor_id,) = [worker_id for worker_id in fleet if worker_id != record.worker]
    survivor_port = metrics_port(stack, process_of(stack, int(fleet[survivor_id]["pid"])))  # type: ignore[call-overload]
    finished_before = scrape(survivor_port, "kodewar_submissions_total")
    recovered_before = scrape(survivor_port, "kodewar_recovered_submissions_total")
    killed_wall, killed = time.time(), time.monotonic()
    os.kill(victim.popen.pid, signal.SIGKILL)
    victim.popen.wait(timeout=5)
    return Killed(
        submission_id, record.worker, survivor_id, survivor_port, submitted_wall, killed_wall, killed,
        finished_before, recovered_before,
    )


def restore_workers(stack: LocalStack) -> None:
    stack.start_worker()  # back to two for the tests that follow
    wait_until(lambda: len(live_workers(stack)) == WORKERS, 10, "the replacement worker")


def test_kill_9_of_a_worker_mid_run_recovers_on_the_other(stack: LocalStack, client: ClientFactory) -> None:
    api = client("victim")
    store = SubmissionStore(stack.redis_client())
    k = kill_owner_mid_run(stack, api)
    try:
        view = api.wait_finished(k.submission_id, RECOVERY_BOUND_S + 10)
        took = time.monotonic() - k.killed
        final = store.get(k.submission_id)
        assert final is not None and final.started_at is not None
        print(
            f"kill -9 -> requeued and claimed again after {final.started_at - k.killed_wall:.2f} s, "
            f"finished after {took:.2f} s (bound {RECOVERY_BOUND_S:.0f} s)"
        )
        assert status_id(view) == ACCEPTED, view
        assert view["tests"][0]["stdout"].strip() == "4"
        assert took <= RECOVERY_BOUND_S
        assert final.worker == k.survivor_id
        assert final.attempts == 2  # the dead worker's claim and the survivor's, nothing more
        assert scrape(k.survivor_port, "kodewar_recovered_submissions_total") - k.recovered_before == 1
        assert scrape(k.survivor_port, "kodewar_submissions_total") - k.finished_before == 1
        assert k.victim_id not in live_workers(stack)  # its heartbeat expired
    finally:
        # Belt and braces: the survivors' janitor removes the dead worker's container (test below).
        time.sleep(ORPHAN_AFTER_EXIT_S)
        remove_containers(orphaned_sandboxes(k.submitted_wall))
        restore_workers(stack)


def test_killed_workers_sandbox_container_is_removed(stack: LocalStack, client: ClientFactory) -> None:
    api = client("victim")
    k = kill_owner_mid_run(stack, api)
    try:
        api.wait_finished(k.submission_id, RECOVERY_BOUND_S + 10)
        time.sleep(ORPHAN_AFTER_EXIT_S)  # the orphan's program has ended by now
        left = orphaned_sandboxes(k.submitted_wall)
    finally:
        remove_containers(orphaned_sandboxes(k.submitted_wall))
        restore_workers(stack)
    assert not left, f"sandbox containers left behind by the killed worker: {left}"


def assert_unavailable(response: requests.Response, took_s: float) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert took_s <= OUTAGE_ANSWER_BOUND_S, f"the API took {took_s:.1f} s to answer while Redis was down"


def timed(call: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_redis_outage_gives_503_and_loses_nothing(stack: LocalStack, client: ClientFactory) -> None:
    api = client("outage")
    store = SubmissionStore(stack.redis_client())
    # Fill every slot with a sleeper, then queue one more: at the outage some run, one waits in the queue.
    running = [api.submit(sleeper(SLEEP_S)) for _ in range(WORKERS * SLOTS)]
    wait_until(lambda: all(claimed(store, i) for i in running), 10, "every slot to be busy")
    queued = api.submit(SEED)
    time.sleep(0.5)
    assert store.get(queued).status is Status.IN_QUEUE  # type: ignore[union-attr]

    stack.stop_redis()
    outage_started = time.monotonic()
    try:
        answer_times = []
        for call in (
            lambda: api.post("/api/submit/", SEED, timeout_s=30),
            lambda: api.post("/api/v1/submissions", SEED, timeout_s=30, wait="true"),
            lambda: api.post("/api/v1/submissions/batch", {"submissions": [SEED]}, timeout_s=30),
            lambda: api.get("/api/status/", timeout_s=30, submission_id=queued),
            lambda: api.get(f"/api/v1/submissions/{queued}", timeout_s=30, wait="true"),
            lambda: requests.get(stack.url + "/readyz", timeout=30),
        ):
            response, took = timed(call)
            assert_unavailable(response, took)
            answer_times.append(took)
        assert requests.get(stack.url + "/healthz", timeout=5).status_code == 200  # alive, just not ready
        metrics, took = timed(lambda: requests.get(stack.url + "/metrics", timeout=30))
        assert metrics.status_code == 200 and took <= OUTAGE_ANSWER_BOUND_S
        time.sleep(max(0.0, SLEEP_S + 1 - (time.monotonic() - outage_started)))  # the sleepers end meanwhile
    finally:
        stack.start_redis()
    outage = time.monotonic() - outage_started

    restarted = time.monotonic()
    wait_until(
        lambda: requests.get(stack.url + "/readyz", timeout=10).status_code == 200,
        API_RECOVERY_BOUND_S,
        "the API to be ready again",
    )
    ready_after = time.monotonic() - restarted
    fresh = api.post("/api/v1/submissions", SEED, wait="true")
    assert fresh.status_code == 200 and status_id(fresh.json()) == ACCEPTED, fresh.text

    views = {i: api.wait_finished(i, 60) for i in [*running, queued]}
    recovered_after = time.monotonic() - restarted
    print(
        f"Redis down {outage:.1f} s, 503 answers took {min(answer_times):.2f}-{max(answer_times):.2f} s; "
        f"API ready {ready_after:.1f} s after restart; "
        f"every pre-outage submission finished {recovered_after:.1f} s after restart"
    )
    for submission_id, view in views.items():
        assert status_id(view) == ACCEPTED, (submission_id, view)
    assert recovered_after <= PRE_OUTAGE_FINISH_BOUND_S
    assert len(live_workers(stack)) == WORKERS
