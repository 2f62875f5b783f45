"""A real multi-host run of the Ansible roles: systemd-in-podman hosts provisioned by site.yml, work
spread over the workers, a worker host lost mid-load, a worker host added, every metrics endpoint.

The tests are the steps of one scenario on one fleet and run in this order (`make fleet-test`);
after a failed step the rest are skipped.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from actors.config import QueueConfig
from sandbox.spec import OWNER_LABEL, SANDBOX_LABEL
from tests.fleet.clients import check_verdicts, host_of, sample_sum, scrape, sleepy_submission
from tests.fleet.fleet import (
    CONTROLLER,
    HEARTBEAT_TTL_S,
    JANITOR_INTERVAL_S,
    WORKER_SLOTS,
    Fleet,
    worker_name,
)
from tests.fleet.support import HOST_WORKER_UID, NOTES, FleetError, PlaybookRun, podman, timed

pytestmark = pytest.mark.fleet

W1, W2, W3 = worker_name(1), worker_name(2), worker_name(3)
API_METRICS = {
    "kodewar_api_requests",
    "kodewar_api_request_duration_seconds",
    "kodewar_queue_depth",
    "kodewar_workers",
    "kodewar_worker_slots",
}
WORKER_METRICS = {
    "kodewar_worker_messages",
    "kodewar_worker_message_errors",
    "kodewar_worker_message_retries",
    "kodewar_worker_messages_in_progress",
    "kodewar_worker_message_duration_seconds",
    "kodewar_submissions",
    "kodewar_sandbox_run_seconds",
    "kodewar_recovered_submissions",
}
LOAD_SLEEP_S = 1.0
KILL_LOAD_SLEEP_S = 2.0
KILL_LOAD_SIZE = 10
# A killed worker's claims come back after its heartbeat expires and a janitor sweeps; messages it had
# fetched but not claimed come back when Dramatiq's broker heartbeat times out. Then they still run.
BROKER_HEARTBEAT_S = QueueConfig().broker_heartbeat_timeout_ms / 1000
RECOVERY_BOUND_S = max(HEARTBEAT_TTL_S + JANITOR_INTERVAL_S, BROKER_HEARTBEAT_S) + KILL_LOAD_SLEEP_S
RECOVERY_TIMEOUT_S = 120
CLOCK_SLACK_S = 0.5

submitted: dict[str, tuple[int, bool]] = {}  # every submission of the scenario: id -> (input, expectation right)


def submit_load(fleet: Fleet, count: int, sleep_s: float) -> dict[str, tuple[int, bool]]:
    batch = {}
    for _ in range(count):
        number = len(submitted) + 1
        correct = number % 3 != 0
        batch[fleet.api.submit(sleepy_submission(number, sleep_s, correct))] = (number, correct)
    submitted.update(batch)
    return batch


def assert_clean_recap(run: PlaybookRun, hosts: set[str]) -> None:
    assert run.rc == 0, f"ansible-playbook failed (exit {run.rc}):\n{run.tail()}"
    assert set(run.recap) == hosts, f"recap for {sorted(run.recap)}, expected {sorted(hosts)}"
    bad = {h: r for h, r in run.recap.items() if r["failed"] or r["unreachable"]}
    assert not bad, f"failed or unreachable: {bad}\n{run.tail()}"


def assert_unchanged(run: PlaybookRun, hosts: set[str]) -> None:
    changed = {h: run.changed_tasks(h) for h in hosts if run.recap[h]["changed"]}
    assert not changed, f"changes on a re-run (not idempotent): {changed}"


def test_provision_fleet_then_rerun_changes_nothing(fleet: Fleet) -> None:
    fleet.start(fleet.add_controller(), fleet.add_worker(1), fleet.add_worker(2))
    hosts = set(fleet.hosts)
    first = fleet.provision("first run, ctl + 2 workers")
    assert_clean_recap(first, hosts)
    second = fleet.provision("second run (idempotence)")
    assert_clean_recap(second, hosts)
    NOTES.append(f"playbook: changed per host, first run {changed(first)}, second run {changed(second)}")
    assert_unchanged(second, hosts)


def changed(run: PlaybookRun) -> dict[str, int]:
    return {host: counts["changed"] for host, counts in sorted(run.recap.items())}


def test_both_workers_take_work(fleet: Fleet) -> None:
    workers = fleet.wait_for_workers({W1, W2})
    fleet.watch_results()  # count every result written from now on
    assert sum(w["slots"] for w in workers) == 2 * WORKER_SLOTS
    busy_seen: Counter[str] = Counter()

    def sample() -> None:
        for worker in fleet.api.workers():
            busy_seen[worker["host"]] = max(busy_seen[worker["host"]], int(worker["busy"]))

    with timed("load on 2 workers (8 x 1 s)"):
        batch = submit_load(fleet, 8, LOAD_SLEEP_S)
        views = fleet.api.wait_finished(list(batch), timeout_s=90, on_poll=sample)
    assert not check_verdicts(views, batch)
    ran_on = Counter(host_of(r.worker) for r in fleet.observer.records(batch).values())
    NOTES.append(f"2 workers: submissions ran on {dict(sorted(ran_on.items()))}; max busy slots seen {dict(busy_seen)}")
    assert set(ran_on) == {W1, W2}, f"where the submissions ran: {ran_on}"
    assert {h for h, busy in busy_seen.items() if busy} == {W1, W2}, f"busy slots seen in /api/v1/workers: {busy_seen}"
    for worker in (W1, W2):
        counted = sample_sum(scrape(fleet.metrics_url(worker)), "kodewar_submissions", "_total")
        assert counted == ran_on[worker], f"{worker} counts {counted} submissions, Redis says it ran {ran_on[worker]}"


def test_killed_worker_host_loses_nothing(fleet: Fleet) -> None:
    victim, survivor = W2, W1
    batch = submit_load(fleet, KILL_LOAD_SIZE, KILL_LOAD_SLEEP_S)
    ids = list(batch)
    deadline = time.monotonic() + 30
    while len(on_victim := fleet.observer.processing_on(victim, ids)) < WORKER_SLOTS:
        if time.monotonic() > deadline:
            if on_victim:
                break
            raise FleetError(f"{victim} never claimed any submission")
        time.sleep(0.05)
    killed_at = time.time()
    fleet.kill(victim)
    with timed(f"recovery after killing {victim} ({KILL_LOAD_SIZE} x {KILL_LOAD_SLEEP_S:g} s load)"):
        views = fleet.api.wait_finished(ids, timeout_s=RECOVERY_TIMEOUT_S)
    recovered_in_s = time.time() - killed_at
    assert not check_verdicts(views, batch)

    records = fleet.observer.records(ids)
    after_death = killed_at + CLOCK_SLACK_S
    late = [i for i, r in records.items() if host_of(r.worker) == victim and (r.finished_at or 0) > after_death]
    assert not late, f"results written by the dead host after its death: {late}"
    rerun = {i for i in on_victim if host_of(records[i].worker) == survivor}
    assert rerun, f"none of {sorted(on_victim)} (running on {victim} when it died) was run again on {survivor}"
    assert all(records[i].attempts >= 2 for i in rerun), {i: records[i].attempts for i in rerun}
    assert recovered_in_s < RECOVERY_BOUND_S + len(ids) * KILL_LOAD_SLEEP_S / WORKER_SLOTS, recovered_in_s
    survivor_metrics = scrape(fleet.metrics_url(survivor))
    assert sample_sum(survivor_metrics, "kodewar_recovered_submissions", "_total") >= 1
    fleet.wait_for_workers({survivor}, timeout_s=HEARTBEAT_TTL_S + 5)

    # The host comes back (as after a crash and reboot): its worker rejoins and removes the sandbox
    # containers its dead predecessor left behind.
    with timed(f"reboot of {victim} until its worker is back"):
        fleet.restart(victim)
        fleet.wait_for_workers({survivor, victim}, timeout_s=90)
    assert_no_orphan_sandboxes(fleet, victim)

    # Exactly once: one result per submission, also after Dramatiq redelivered the dead consumer's
    # messages (after its broker heartbeat timeout): a finished submission is never run again.
    time.sleep(max(0.0, killed_at + BROKER_HEARTBEAT_S + 5 - time.time()))
    again = fleet.api.views(ids)
    assert {i: v["finished_at"] for i, v in again.items()} == {i: v["finished_at"] for i, v in views.items()}
    written = {i: fleet.observer.done[i] for i in ids}
    assert set(written.values()) == {1}, f"results written per submission: {written}"
    attempts = sorted(Counter(r.attempts for r in records.values()).items())
    requeued = sample_sum(survivor_metrics, "kodewar_recovered_submissions", "_total")
    NOTES.append(
        f"kill: {victim} died running {len(on_victim)} submission(s); all {len(ids)} finished"
        f" {recovered_in_s:.1f} s later (bound {RECOVERY_BOUND_S:g} s + queue);"
        f" (attempts, submissions) {attempts}; {survivor} requeued {requeued:g}"
    )


def assert_no_orphan_sandboxes(fleet: Fleet, host: str, timeout_s: float = 15) -> None:
    """No sandbox container on host belongs to anything but its live worker (warm ones may wait there)."""
    deadline = time.monotonic() + timeout_s
    while True:
        owners = {f"{host}:{w['pid']}" for w in fleet.api.workers() if w["host"] == host}
        listing = podman(
            "exec", "--user", "kodewar", "--env", f"XDG_RUNTIME_DIR=/run/user/{HOST_WORKER_UID}", host,
            "podman", "ps", "--all", "--filter", f"label={SANDBOX_LABEL}=1",
            "--format", f'{{{{.ID}}}} {{{{ index .Labels "{OWNER_LABEL}" }}}}',
        )  # fmt: skip
        orphans = [line for line in listing.splitlines() if line.split(" ", 1)[-1] not in owners]
        if not orphans:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"sandbox containers of dead workers left on {host} (id owner): {orphans}")
        time.sleep(1)


def test_third_worker_host_joins(fleet: Fleet) -> None:
    existing = set(fleet.hosts)
    fleet.start(fleet.add_worker(3))
    run = fleet.provision("third worker added")
    assert_clean_recap(run, existing | {W3})
    NOTES.append(f"playbook: changed per host after adding {W3}: {changed(run)}")
    assert_unchanged(run, existing)
    fleet.wait_for_workers({W1, W2, W3})
    with timed("load on 3 workers (12 x 1 s)"):
        batch = submit_load(fleet, 12, LOAD_SLEEP_S)
        views = fleet.api.wait_finished(list(batch), timeout_s=90)
    assert not check_verdicts(views, batch)
    ran_on = Counter(host_of(r.worker) for r in fleet.observer.records(batch).values())
    NOTES.append(f"3 workers: submissions ran on {dict(sorted(ran_on.items()))}")
    assert ran_on[W3] > 0, f"where the submissions ran: {ran_on}"
    assert sample_sum(scrape(fleet.metrics_url(W3)), "kodewar_submissions", "_total") == ran_on[W3]


def test_every_metrics_endpoint(fleet: Fleet) -> None:
    api = scrape(fleet.api_metrics_url)
    assert set(api) >= API_METRICS, f"missing from the API: {sorted(API_METRICS - set(api))}"
    assert sample_sum(api, "kodewar_workers") == 3
    assert sample_sum(api, "kodewar_worker_slots", state="total") == 3 * WORKER_SLOTS
    assert sample_sum(api, "kodewar_queue_depth") == 0
    posted = sample_sum(api, "kodewar_api_requests", "_total", method="POST", route="/api/v1/submissions", status="202")
    assert posted == len(submitted)
    finished: dict[str, float] = {}
    for worker in (W1, W2, W3):
        families: dict[str, Any] = scrape(fleet.metrics_url(worker))
        assert set(families) >= WORKER_METRICS, f"missing from {worker}: {sorted(WORKER_METRICS - set(families))}"
        finished[worker] = sample_sum(families, "kodewar_submissions", "_total")
        assert sample_sum(families, "kodewar_worker_messages_in_progress") == 0
    assert all(finished.values()), f"submissions counted per worker since its start: {finished}"
    written = Counter(fleet.observer.done[i] for i in submitted)
    assert written == Counter({1: len(submitted)}), f"results written per submission: {written}"
    assert CONTROLLER in fleet.hosts
