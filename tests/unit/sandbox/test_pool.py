"""The warm pool against a fake podman API: sizing, discarding, one job per container, stop."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.languages import load_registry
from sandbox.limits import LimitPolicy
from sandbox.podman_api import SandboxUnavailable
from sandbox.pool import WarmPool, spec_key
from sandbox.pool_sizing import Demand, affordable_starts, per_language_cap, targets, total_cap, wanted
from sandbox.runner import Runner
from sandbox.spec import container_spec
from sandbox.statuses import Status
from sandbox.submission import build_submission

REGISTRY = load_registry()
WAIT_S = 5.0


@dataclass
class FakeHost:
    cores_: int = 2
    total_mb: int = 24 * 1024
    available_mb: int = 20 * 1024

    def cores(self) -> int:
        return self.cores_

    def memory_total_mb(self) -> int:
        return self.total_mb

    def memory_available_mb(self) -> int:
        return self.available_mb


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def report(stdout: str) -> dict[str, Any]:
    return {
        "exit_code": 0,
        "signal": None,
        "killed": None,
        "exec_error": None,
        "cpu_time_s": 0.01,
        "wall_time_s": 0.01,
        "memory_kib": 1000,
        "stdout": base64.b64encode(stdout.encode()).decode(),
        "stderr": "",
        "stdout_truncated": False,
        "stderr_truncated": False,
    }


class FakeStream:
    """A harness behind an attach socket: silent until it gets its job, then reports every test."""

    def __init__(self, api: FakeAPI, container_id: str) -> None:
        self.api = api
        self.container_id = container_id
        self.dead = False
        self.closed = False
        self.jobs: list[dict[str, Any]] = []

    def quiet(self) -> bool:
        return not (self.dead or self.closed or self.jobs)

    def send(self, data: bytes) -> None:
        if self.dead or self.closed:
            raise SandboxUnavailable("writing to the sandbox failed: broken pipe")
        if self.jobs:
            raise AssertionError(f"container {self.container_id} got a second job")
        self.jobs.append(json.loads(data))
        self.api.jobs_by_container.setdefault(self.container_id, []).append(self.jobs[-1])

    def frames(self, deadline: float, max_bytes: int) -> Iterator[tuple[int, bytes]]:
        (job,) = self.jobs
        for index, _test in enumerate(job["tests"]):
            event = {"event": "test", "index": index, "run": 0, **report("4\n")}
            yield 1, json.dumps(event).encode() + b"\n"
        yield 1, b'{"event":"done"}\n'

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeAPI:
    fail_create: bool = False
    created: list[str] = field(default_factory=list)
    specs: dict[str, dict[str, object]] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    streams: dict[str, FakeStream] = field(default_factory=dict)
    jobs_by_container: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, spec: dict[str, object]) -> str:
        if self.fail_create:
            raise SandboxUnavailable("podman create failed (500)")
        with self.lock:
            container_id = f"c{len(self.created):03d}"
            self.created.append(container_id)
            self.specs[container_id] = spec
        return container_id

    def attach(self, container_id: str) -> FakeStream:
        stream = FakeStream(self, container_id)
        self.streams[container_id] = stream
        return stream

    def start(self, container_id: str) -> None:
        self.started.append(container_id)

    def remove(self, container_id: str) -> None:
        with self.lock:
            self.removed.append(container_id)

    def live(self) -> set[str]:
        with self.lock:
            return set(self.created) - set(self.removed)


def config(**changes: Any) -> SandboxConfig:
    base = SandboxConfig(pool_fill_threads=2, pool_remove_threads=1, pool_min_free_mb=1024, pool_container_mb=32)
    return replace(base, **changes)


def make_pool(cfg: SandboxConfig, api: FakeAPI, *, languages: tuple[str, ...] = ("python", "c"), **kw: Any) -> WarmPool:
    return WarmPool(cfg, {k: REGISTRY[k] for k in languages}, api, host=kw.pop("host", FakeHost()), **kw)  # type: ignore[arg-type]


def submission(language: str = "python", **body: Any):  # type: ignore[no-untyped-def]
    raw = {"language": language, "code": "print(4)", "test_cases": [{"input": "", "expected": "4"}], **body}
    return build_submission(raw, REGISTRY, LimitPolicy())


def wait_for(predicate: Any, what: str) -> None:
    event = threading.Event()
    for _ in range(int(WAIT_S / 0.01)):
        if predicate():
            return
        event.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# -- sizing ---------------------------------------------------------------------------------------


def test_total_cap_follows_cores_and_memory() -> None:
    assert total_cap(config(), FakeHost(cores_=2)) == 4
    assert total_cap(config(), FakeHost(cores_=16)) == 32
    small = FakeHost(cores_=16, total_mb=1024)  # 10% of 1 GiB = 102 MB: 3 containers of 32 MB
    assert total_cap(config(), small) == 3
    assert total_cap(config(pool_max_total=10), FakeHost(cores_=2)) == 10  # an explicit cap wins over cores ...
    assert total_cap(config(pool_max_total=10), small) == 3  # ... never over the memory budget


def test_affordable_starts_keep_the_memory_reserve() -> None:
    assert affordable_starts(config(), FakeHost(available_mb=20_000), room=4) == 4
    assert affordable_starts(config(), FakeHost(available_mb=1024 + 64), room=4) == 2
    assert affordable_starts(config(), FakeHost(available_mb=1000), room=4) == 0
    assert affordable_starts(config(), FakeHost(), room=0) == 0


def test_an_unused_language_wants_its_floor_only() -> None:
    cfg = config(pool_min=(("python", 1),))
    assert targets(cfg, ["python", "c", "java"], {}, slots=2, cap_total=4, start_s=0.3, now=0.0) == {
        "python": 1,
        "c": 0,
        "java": 0,
    }


def test_demand_grows_a_language_and_idleness_shrinks_it() -> None:
    cfg = config(pool_idle_s=60.0, pool_rate_window_s=10.0)
    demand = Demand()
    demand.record(0.0, cfg.pool_rate_window_s)
    assert wanted(cfg, demand, 0, 3, 0.3, 0.0) == 1  # used once: one spare
    for step in range(200):  # 20 takes a second for 10 s
        demand.record(step * 0.05, cfg.pool_rate_window_s)
    assert wanted(cfg, demand, 0, 3, 0.3, 10.0) == 3  # the rate needs more, capped per language
    assert wanted(cfg, demand, 0, 3, 0.3, 10.0 + 61) == 0  # idle past pool_idle_s: back to the floor
    assert wanted(cfg, demand, 2, 3, 0.3, 10.0 + 61) == 2


def test_the_total_cap_gives_every_used_language_one_before_any_gets_two() -> None:
    cfg = config()
    demand = {k: Demand() for k in ("python", "c", "java")}
    for step in range(100):
        demand["python"].record(step * 0.05, cfg.pool_rate_window_s)
    demand["c"].record(4.9, cfg.pool_rate_window_s)
    demand["java"].record(4.9, cfg.pool_rate_window_s)
    got = targets(cfg, demand, demand, slots=4, cap_total=4, start_s=0.5, now=5.0)
    assert sum(got.values()) == 4
    assert got["c"] == 1 and got["java"] == 1 and got["python"] == 2


def test_per_language_cap_defaults_to_slots_plus_one() -> None:
    assert per_language_cap(config(), slots=2) == 3
    assert per_language_cap(config(pool_max_per_language=7), slots=2) == 7


# -- the pool against a fake podman ---------------------------------------------------------------


def test_floor_is_filled_at_start_with_the_cold_paths_spec() -> None:
    api = FakeAPI()
    pool = make_pool(config(pool_min=(("python", 2),)), api).start()
    try:
        assert pool.wait_ready("python", 2, WAIT_S)
        assert pool.stats()["warm"] == {"python": 2}
        spec = api.specs[api.created[0]]
        cold = container_spec(REGISTRY["python"], LimitPolicy().defaults, config(), "other-name")
        assert spec_key(spec) == spec_key(cold)  # same flags, seccomp, mounts, labels: only the name differs
        assert str(spec["name"]).startswith("kodewar-") and len(str(spec["name"])) == len("kodewar-") + 12
    finally:
        pool.stop()


def test_each_container_gets_exactly_one_job_and_is_removed_after_it() -> None:
    api = FakeAPI()
    cfg = config(pool_min=(("python", 1),))
    pool = make_pool(cfg, api).start()
    runner = Runner(cfg, api, pool)  # type: ignore[arg-type]
    try:
        assert pool.wait_ready("python", 1, WAIT_S)
        used = []
        for _ in range(5):
            wait_for(lambda: pool.stats()["warm"].get("python"), "a refill")
            result = runner.run(submission())
            assert result.status is Status.ACCEPTED
            (container_id,) = [c for c, jobs in api.jobs_by_container.items() if c not in used]
            used.append(container_id)
        assert len(set(used)) == 5
        assert all(len(api.jobs_by_container[c]) == 1 for c in used)
        assert pool.settle(WAIT_S)
        assert set(used) <= set(api.removed)
        assert pool.hits == 5
    finally:
        pool.stop()
    assert not api.live(), "stop() leaves no container behind"


def test_without_a_warm_container_the_run_starts_cold() -> None:
    api = FakeAPI()
    cfg = config()
    pool = make_pool(cfg, api, host=FakeHost(available_mb=0))  # the host affords no warm container
    runner = Runner(cfg, api, pool)  # type: ignore[arg-type]
    assert runner.run(submission()).status is Status.ACCEPTED
    assert pool.misses == 1 and pool.hits == 0
    assert pool.settle(WAIT_S)
    assert not api.live()
    pool.stop()


class SlowStartAPI(FakeAPI):
    """Container starts take a while and can be released one at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Semaphore(0)

    def start(self, container_id: str) -> None:
        assert self.release.acquire(timeout=WAIT_S)
        super().start(container_id)


def test_a_miss_waits_for_a_container_already_starting_instead_of_starting_another() -> None:
    api = SlowStartAPI()
    pool = make_pool(config(), api)  # no manager thread: take() starts the replacement itself
    got: list[object] = []
    taker = threading.Thread(target=lambda: got.append(pool.take(REGISTRY["python"], LimitPolicy().defaults)))
    taker.start()
    wait_for(lambda: pool.stats()["starting"] == 1, "the start that the miss triggered")
    api.release.release()
    taker.join(WAIT_S)
    (container,) = got
    assert container is not None and pool.hits == 1 and pool.misses == 0
    assert len(api.created) == 1  # one container for one submission, not a cold one beside it
    pool.retire(container.container_id)  # type: ignore[attr-defined]
    api.release.release()
    pool.stop()


def test_the_wait_for_a_starting_container_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox.pool

    monkeypatch.setattr(sandbox.pool, "IN_FLIGHT_WAIT_MIN_S", 0.2)
    monkeypatch.setattr(sandbox.pool, "IN_FLIGHT_WAIT_STARTS", 0.0)
    api = SlowStartAPI()
    pool = make_pool(config(), api)
    started = time.monotonic()
    assert pool.take(REGISTRY["python"], LimitPolicy().defaults) is None  # podman is stuck: go cold
    assert 0.15 < time.monotonic() - started < 2.0
    assert pool.misses == 1
    for _ in range(3):
        api.release.release()
    pool.stop()


def test_dead_and_old_containers_are_discarded_not_used() -> None:
    api = FakeAPI()
    clock = FakeClock()
    cfg = config(pool_min=(("python", 2),), pool_max_age_s=60.0)
    pool = make_pool(cfg, api, clock=clock)
    pool._rebalance()  # one round by hand: the clock is ours
    wait_for(lambda: pool.stats()["warm"].get("python") == 2, "two warm containers")
    first, second = pool.warm_ids()
    api.streams[first].dead = True  # its harness exited: the stream shows EOF
    taken = pool.take(REGISTRY["python"], LimitPolicy().defaults)
    assert taken is not None and taken.container_id == second
    assert pool.settle(WAIT_S) and first in api.removed
    pool.retire(taken.container_id)

    pool._rebalance()
    wait_for(lambda: pool.stats()["warm"].get("python") == 2, "the refill")
    aged = set(pool.warm_ids())
    clock.now += 61  # past pool_max_age_s
    fresh = pool.take(REGISTRY["python"], LimitPolicy().defaults)  # a new one, started for this take
    assert fresh is not None and fresh.container_id not in aged
    assert pool.settle(WAIT_S) and aged <= set(api.removed)
    assert pool.stats()["discarded"] == 3
    pool.retire(fresh.container_id)
    pool.stop()
    assert not api.live()


def test_a_submission_needing_another_spec_does_not_take_a_warm_container() -> None:
    api = FakeAPI()
    cfg = config(pool_min=(("python", 1),), cgroup_limits=True)  # with cgroups the spec follows the limits
    policy = LimitPolicy(compile=replace(LimitPolicy().compile, memory_mb=64, max_processes=8))
    cfg = replace(cfg, policy=policy)
    pool = make_pool(cfg, api, languages=("python",))
    pool._rebalance()
    wait_for(lambda: pool.stats()["warm"].get("python") == 1, "a warm container")
    bigger = replace(policy.defaults, memory_mb=256)
    assert pool.take(REGISTRY["python"], bigger) is None
    assert pool.stats()["warm"] == {"python": 1}  # left for a submission it fits
    assert pool.take(REGISTRY["python"], policy.defaults) is not None
    pool.stop()


def test_the_pool_never_exceeds_its_cap() -> None:
    api = FakeAPI()
    host = FakeHost(cores_=1)  # cap: 2
    cfg = config(pool_min=(("python", 3), ("c", 3)))
    pool = make_pool(cfg, api, host=host)
    peak = 0
    for _ in range(20):
        pool._rebalance()
        stats = pool.stats()
        peak = max(peak, sum(stats["warm"].values()) + stats["starting"])
    wait_for(lambda: sum(pool.stats()["warm"].values()) == 2, "the pool to fill to its cap")
    assert peak <= 2 and len(api.live()) == 2
    assert pool.stats()["warm"] == {"c": 1, "python": 1}
    pool.stop()


def test_low_host_memory_stops_growth() -> None:
    api = FakeAPI()
    host = FakeHost(available_mb=1000)
    pool = make_pool(config(pool_min=(("python", 2),)), api, host=host)
    pool._rebalance()
    assert pool.stats()["starting"] == 0 and not api.created
    pool.stop()


def test_demand_grows_the_pool_and_idleness_shrinks_it() -> None:
    api = FakeAPI()
    clock = FakeClock()
    cfg = config(pool_idle_s=30.0)
    pool = make_pool(cfg, api, clock=clock)
    first = pool.take(REGISTRY["c"], LimitPolicy().defaults)  # first use: c now wants a warm container
    if first is not None:  # the take started one and waited for it
        pool.retire(first.container_id)
    pool._rebalance()
    wait_for(lambda: pool.stats()["warm"].get("c") == 1, "c to grow")
    clock.now += 31
    pool._rebalance()
    assert pool.stats()["warm"] == {}
    assert pool.settle(WAIT_S) and not api.live()
    pool.stop()


def test_failed_starts_back_off_instead_of_spinning() -> None:
    api = FakeAPI(fail_create=True)
    clock = FakeClock()
    pool = make_pool(config(pool_min=(("python", 1),)), api, clock=clock)
    pool._rebalance()
    wait_for(lambda: pool.stats()["starting"] == 0, "the failed start")
    started = time.monotonic()
    assert not pool.wait_ready("python", 1, WAIT_S)  # a failed start ends the wait (the doctor reports it)
    assert time.monotonic() - started < 1.0 and "podman create failed" in str(pool.last_error)
    pool._rebalance()
    assert pool.stats()["starting"] == 0  # within the back-off: no new attempt
    api.fail_create = False
    clock.now += 2
    pool._rebalance()
    wait_for(lambda: pool.stats()["warm"].get("python") == 1, "the retry")
    pool.stop()


def test_stop_removes_the_pool_and_later_retirements_run_inline() -> None:
    api = FakeAPI()
    cfg = config(pool_min=(("python", 2), ("c", 1)))
    pool = make_pool(cfg, api).start()
    assert pool.wait_ready("python", 2, WAIT_S) and pool.wait_ready("c", 1, WAIT_S)
    taken = pool.take(REGISTRY["c"], LimitPolicy().defaults)
    assert taken is not None
    pool.stop()
    assert api.live() == {taken.container_id}  # the one a runner still holds
    pool.retire(taken.container_id)
    assert not api.live()
    assert pool.take(REGISTRY["python"], LimitPolicy().defaults) is None


def test_concurrent_takes_never_share_a_container() -> None:
    threads = 4
    api = FakeAPI()
    cfg = config(pool_min=(("python", 3),), pool_max_per_language=3)
    pool = make_pool(cfg, api, host=FakeHost(cores_=8), slots=4).start()
    runner = Runner(cfg, api, pool)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                assert runner.run(submission()).status is Status.ACCEPTED
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(WAIT_S * 4)
    pool.stop()
    assert not errors, errors
    assert sum(len(jobs) for jobs in api.jobs_by_container.values()) == 40
    assert all(len(jobs) == 1 for jobs in api.jobs_by_container.values())
    assert not api.live()


def test_poisson_quantile() -> None:
    from sandbox.pool_sizing import poisson_quantile

    assert poisson_quantile(0.0, 0.95) == 0
    assert poisson_quantile(0.03, 0.95) == 0  # a rare language: one warm container is enough
    assert poisson_quantile(0.5, 0.95) == 2  # P(N<=1)=0.91, P(N<=2)=0.986
    assert poisson_quantile(2.4, 0.95) == 5
