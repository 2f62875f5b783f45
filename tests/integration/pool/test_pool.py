"""The warm pool against real podman: same verdicts as a cold run, one container per submission, the cap
holds, and a worker that stops (or dies) leaves none of its warm containers behind."""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import requests

from kodewar.settings import Settings
from kodewar.stack import LocalStack
from sandbox.languages import Language
from sandbox.pool import WarmPool
from sandbox.runner import Runner, remove_orphans
from sandbox.spec import OWNER_LABEL
from sandbox.statuses import Status
from sandbox.submission import build_submission
from tests.conftest import RecordingAPI, RunFn
from tests.integration.pool.conftest import WARM_TIMEOUT_S, RecordingPool, warm_within
from tests.integration.sandbox.programs import CASES, MATRIX_LIMITS, PROGRAMS
from tests.integration.service.support import free_port, wait_until

SEED = {"code": "def solution(x): return x * 2", "language": "python", "test_cases": [{"input": "2", "expected": "4"}]}
LOOK = "import os\nprint(sorted(os.listdir('/box')), sorted(os.listdir('/tmp')))\nopen('/tmp/mark', 'w').write('x')\n"
CAP = 2


def statuses(result: Any) -> list[str]:
    if result.compile_status is not None:
        return [result.compile_status.description]
    return [t.status.description for t in result.tests]


def test_pooled_runs_give_the_same_verdicts_as_cold_runs(
    run: RunFn, settings: Settings, registry: dict[str, Language], podman_api: RecordingAPI
) -> None:
    cold = Runner(settings.sandbox, podman_api)
    for language in ("python", "c"):
        groups: dict[str, list[str]] = {}
        for case, source in PROGRAMS[language].items():
            groups.setdefault(source, []).append(case)
        for source, cases in groups.items():
            tests = [CASES[c].test() for c in cases]
            body = {"language": language, "code": source, "test_cases": tests, "limits": MATRIX_LIMITS, "mode": "stdio"}
            submission = build_submission(body, registry, settings.sandbox.policy, settings.sandbox.caps)
            cold_result = cold.run(submission)
            warm_result = run(language, source, tests=tests, limits=MATRIX_LIMITS, mode="stdio")
            assert statuses(warm_result) == statuses(cold_result), (language, cases)
            assert [t.stdout.text for t in warm_result.tests] == [t.stdout.text for t in cold_result.tests]


def test_every_submission_gets_a_fresh_container(run: RunFn, pool: RecordingPool) -> None:
    first = len(pool.taken)
    for _ in range(4):
        result = run("python", LOOK, tests=[{"input": "", "expected": "['main.py'] []"}])
        assert result.status is Status.ACCEPTED, result.as_dict()  # nothing of the previous run is visible
    used = pool.taken[first:]
    assert len(set(used)) == 4, used
    assert all(pool.jobs_sent[c] == 1 for c in used)


def test_the_pool_respects_its_cap(settings: Settings, registry: dict[str, Language]) -> None:
    api = RecordingAPI(settings.sandbox.podman_url)
    config = replace(settings.sandbox, pool_min=(("python", 3), ("c", 3)), pool_max_total=CAP, pool_fill_threads=4)
    pool = WarmPool(config, {k: registry[k] for k in ("python", "c")}, api, slots=4).start()
    peak = 0
    stop = threading.Event()

    def churn() -> None:  # takes make the manager start replacements: the cap must still hold
        while not stop.is_set():
            for key in ("python", "c"):
                taken = pool.take(registry[key], settings.sandbox.policy.defaults)
                if taken is not None:
                    taken.stream.close()
                    pool.retire(taken.container_id)
            stop.wait(0.2)

    thread = threading.Thread(target=churn)
    try:
        assert warm_within(pool, "python", WARM_TIMEOUT_S)
        thread.start()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            stats = pool.stats()
            peak = max(peak, sum(stats["warm"].values()) + stats["starting"])
            time.sleep(0.02)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        pool.stop()
    assert peak <= CAP, f"warm + starting reached {peak}, cap {CAP}"
    assert not [c for c in api.created if api.container_exists(c)]


# -- a real worker process -------------------------------------------------------------------------


def owned_by(api: RecordingAPI, pid: int) -> list[str]:
    owner = f"{socket.gethostname()}:{pid}"
    return [c for c, labels in api.sandbox_containers().items() if labels.get(OWNER_LABEL) == owner]


def has_warm(api: RecordingAPI, pid: int, count: int) -> bool:
    return len(owned_by(api, pid)) >= count


def test_a_stopped_worker_removes_its_pool_and_a_killed_ones_is_swept(podman_api: RecordingAPI) -> None:
    env = {"KODEWAR_POOL_MIN": "python=2", "KODEWAR_JANITOR_INTERVAL_S": "1"}
    with tempfile.TemporaryDirectory(prefix="kodewar-pool-") as state:
        stack = LocalStack(
            Path(state), api_port=free_port(), redis_port=free_port(), workers=2, slots=1,
            languages=["python"], worker_metrics_port=0, env=env,
        )
        with stack:
            graceful, killed = stack.worker_processes
            for pid in (graceful.popen.pid, killed.popen.pid):
                wait_until(partial(has_warm, podman_api, pid, 2), WARM_TIMEOUT_S, "a warm pool")
            token = stack.token()
            answer = requests.post(
                stack.url + "/api/v1/submissions", json=SEED, params={"wait": "true"},
                headers={"Authorization": f"Bearer {token}"}, timeout=60,
            )
            assert answer.status_code == 200 and answer.json()["status"]["id"] == int(Status.ACCEPTED), answer.text

            graceful.popen.send_signal(signal.SIGTERM)
            graceful.popen.wait(timeout=70)
            assert owned_by(podman_api, graceful.popen.pid) == []  # gone before the process exited

            os.kill(killed.popen.pid, signal.SIGKILL)
            killed.popen.wait(timeout=10)
            assert owned_by(podman_api, killed.popen.pid)  # nobody removed them: the sweep must
            remove_orphans(podman_api)  # what a surviving worker's janitor does every interval
            assert owned_by(podman_api, killed.popen.pid) == []
