"""The sandbox suites again, through the warm pool: every `run` here must take a warm container.

`runner` and `run` override tests/conftest.py's for this directory. The pool has its own recording
podman connection, so the parent `run` fixture's bookkeeping (cold containers) is unchanged, and this
`run` adds the same checks for the warm containers: removed after the test, no sandbox process left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from kodewar.settings import Settings
from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.pool import WarmContainer, WarmPool
from sandbox.result import Result
from sandbox.runner import Runner
from tests.conftest import RecordingAPI, RunFn, host_uid, processes_of

WARM_TIMEOUT_S = 60.0  # a warm container of the language is ready (java and go images start slowest)
SETTLE_TIMEOUT_S = 60.0


class RecordingPool(WarmPool):
    """Remembers every container it hands out and how many jobs each received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken: list[str] = []
        self.jobs_sent: dict[str, int] = {}

    def take(self, language: Language, limits: Limits) -> WarmContainer | None:
        container = super().take(language, limits)
        if container is not None:
            self.taken.append(container.container_id)
            send = container.stream.send
            container_id = container.container_id

            def counting_send(data: bytes) -> None:
                self.jobs_sent[container_id] = self.jobs_sent.get(container_id, 0) + 1
                send(data)

            container.stream.send = counting_send  # type: ignore[method-assign]
        return container


def warm_within(pool: WarmPool, language: str, timeout_s: float) -> bool:
    """wait_ready, retried past a failed start (the pool retries it after a back-off)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pool.wait_ready(language, 1, deadline - time.monotonic()):
            return True
        time.sleep(0.5)
    return False


def pool_config(settings: Settings, registry: dict[str, Language]) -> SandboxConfig:
    """One warm container per language, kept however idle the suite is."""
    return replace(
        settings.sandbox,
        pool_min=tuple((key, 1) for key in registry),
        pool_max_total=len(registry),
        pool_max_per_language=1,
        pool_idle_s=3600.0,
        pool_max_age_s=3600.0,
    )


@pytest.fixture(scope="session")
def pool_api(settings: Settings) -> RecordingAPI:
    return RecordingAPI(settings.sandbox.podman_url)


@pytest.fixture(scope="session")
def pool(settings: Settings, registry: dict[str, Language], pool_api: RecordingAPI) -> Iterator[RecordingPool]:
    warm = RecordingPool(pool_config(settings, registry), registry, pool_api, slots=1).start()
    yield warm
    warm.stop()
    left = [c for c in pool_api.created if pool_api.container_exists(c)]
    assert not left, f"the stopped pool left containers behind: {left}"


@pytest.fixture(scope="session")
def runner(settings: Settings, podman_api: RecordingAPI, pool: RecordingPool) -> Runner:
    return Runner(settings.sandbox, podman_api, pool)


@pytest.fixture
def run(
    run: RunFn, pool: RecordingPool, pool_api: RecordingAPI, settings: Settings
) -> Iterator[RunFn]:
    """The parent `run`, but each run must go through a warm container; afterwards every container it
    used is gone and no process of its sandbox uids is left."""
    first_taken, first_job = len(pool.taken), len(pool_api.jobs)

    def pooled(language: str, code: str, tests: list[dict[str, Any]] | None = None, **body: Any) -> Result:
        assert warm_within(pool, language, WARM_TIMEOUT_S), f"no warm {language} container: {pool.last_error}"
        before = len(pool.taken)
        result = run(language, code, tests, **body)
        assert len(pool.taken) == before + 1, "the run started cold: this suite checks the warm path"
        return result

    yield pooled
    assert pool.settle(SETTLE_TIMEOUT_S), "background removals did not finish"
    used = pool.taken[first_taken:]
    leaked = [c for c in used if pool_api.container_exists(c)]
    assert not leaked, f"warm containers left behind after their run: {leaked}"
    assert all(pool.jobs_sent.get(c) == 1 for c in used), {c: pool.jobs_sent.get(c) for c in used}
    uids = [host_uid(settings, int(job["uid"])) for job in pool_api.jobs[first_job:]]
    stray = {uid: processes_of(uid) for uid in uids if processes_of(uid)}
    assert not stray, f"sandbox processes left behind (host uid: pids): {stray}"
