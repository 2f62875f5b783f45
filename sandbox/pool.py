"""Warm one-shot sandboxes: containers created, attached and started ahead of demand.

The harness is PID 1 and blocks reading one job line before it does anything, so a container can be
started early and handed its one job later. Each warm container serves exactly one submission and is
then removed in the background: never reused. The spec is the cold path's spec, built by the same
function (same flags, seccomp profile and limits), and a container whose spec would differ from the
one a submission needs is not used for it. Dead or too old containers are discarded, not used.
Sizes follow demand per language within what the host affords (sandbox.pool_sizing); when no warm
container is ready the runner starts one cold, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Self

from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.podman_api import AttachedStream, PodmanAPI, SandboxUnavailable
from sandbox.pool_sizing import Demand, Host, LinuxHost, affordable_starts, targets, total_cap
from sandbox.spec import container_name, container_spec

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL_S = 1.0  # dead/aged containers and idle shrink; never on a submission's path
START_ESTIMATE_S = 0.3  # create + attach + start before the first measurement
START_SMOOTHING = 0.2  # weight of the newest start time in its moving average
START_BACKOFF_S = (1.0, 60.0)  # retry delay after a failed start (image missing, podman down), doubling
STOP_TIMEOUT_S = 30.0
IN_FLIGHT_WAIT_STARTS = 3.0  # a caller waits for a starting container at most this many start times ...
IN_FLIGHT_WAIT_MIN_S = 1.0  # ... and at least this long


def spec_key(spec: Mapping[str, object]) -> str:
    """Identity of a spec apart from its name: a warm container only serves submissions whose own spec
    has the same key (so no flag or limit of the cold path can differ)."""
    body = json.dumps({k: v for k, v in spec.items() if k != "name"}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class WarmContainer:
    container_id: str
    name: str
    language: str
    key: str
    stream: AttachedStream
    born: float  # clock() when it was started

    def usable(self, now: float, max_age_s: float) -> bool:
        """Young enough, and its harness still waits silently: a harness that wrote or closed its stream died."""
        return now - self.born <= max_age_s and self.stream.quiet()


class WarmPool:
    """Per-language warm containers for one worker process; `start()` it, `stop()` removes all of it."""

    def __init__(
        self,
        config: SandboxConfig,
        languages: Mapping[str, Language],
        api: PodmanAPI | None = None,
        *,
        slots: int = 2,
        host: Host | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.languages = dict(languages)
        self.api = api or PodmanAPI(config.podman_url, config.api_timeout_s)
        self.slots = slots
        self.host = host or LinuxHost()
        self.clock = clock
        self._cond = threading.Condition()
        self._warm: dict[str, deque[WarmContainer]] = {key: deque() for key in self.languages}
        self._starting = dict.fromkeys(self.languages, 0)
        self._waiting = dict.fromkeys(self.languages, 0)  # callers waiting for a starting container
        self._demand: dict[str, Demand] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # language -> (failures in a row, retry not before)
        self.last_error: str | None = None  # the latest failed start, for the doctor and the logs
        self._start_s = START_ESTIMATE_S
        self._removing = 0
        self._unremoved: set[str] = set()  # removals that failed; housekeeping retries them
        self._closed = False
        self._removals_open = True
        self._manager: threading.Thread | None = None
        self._starter = ThreadPoolExecutor(max(1, config.pool_fill_threads), thread_name_prefix="pool-start")
        self._remover = ThreadPoolExecutor(max(1, config.pool_remove_threads), thread_name_prefix="pool-remove")
        self.hits = 0
        self.misses = 0
        self.discarded = 0
        self.started = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        self._manager = threading.Thread(target=self._manage, name="pool-manager", daemon=True)
        self._manager.start()
        return self

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Remove every warm container and wait (bounded) for the removals; later retirements run inline."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._manager is not None:
            self._manager.join(timeout=timeout_s)
        self._starter.shutdown(wait=True)  # starts under way land, see the pool closed and retire themselves
        with self._cond:
            leftovers = [c for queue in self._warm.values() for c in queue]
            for queue in self._warm.values():
                queue.clear()
            unremoved, self._unremoved = list(self._unremoved), set()
        for container in leftovers:
            self._discard(container)
        for container_id in unremoved:
            self.retire(container_id)
        self.settle(timeout_s)
        with self._cond:
            self._removals_open = False
        self._remover.shutdown(wait=False)

    # -- the runner's side ----------------------------------------------------------------------

    def take(self, language: Language, limits: Limits) -> WarmContainer | None:
        """A started container waiting for its one job, or None (the caller starts one cold).

        With none warm but one already starting for this language (and not promised to another caller),
        waits for it: it began before any cold start could, so it is ready sooner, and the host starts
        one container instead of two. The wait is bounded; past it the caller goes cold."""
        key = language.key
        if key not in self._warm:
            return None
        wanted_key = spec_key(container_spec(language, limits, self.config, ""))
        stale: list[WarmContainer] = []
        with self._cond:
            if self._closed:
                return None
            self._demand.setdefault(key, Demand()).record(self.clock(), self.config.pool_rate_window_s)
            chosen, fits = self._pop_usable(key, wanted_key, stale)
            self._cond.notify_all()  # the manager refills, and grows the pool if demand rose
        if chosen is None and fits:
            self._rebalance()  # start the replacement now rather than when the manager runs
            deadline = time.monotonic() + max(IN_FLIGHT_WAIT_MIN_S, IN_FLIGHT_WAIT_STARTS * self._start_s)
            with self._cond:
                while not self._closed:
                    chosen, fits = self._pop_usable(key, wanted_key, stale)  # one may have landed meanwhile
                    remaining = deadline - time.monotonic()
                    if chosen is not None or not fits or remaining <= 0:
                        break
                    if self._starting[key] <= self._waiting[key]:
                        break  # nothing in flight for this caller
                    self._waiting[key] += 1
                    try:
                        self._cond.wait(remaining)
                    finally:
                        self._waiting[key] -= 1
        with self._cond:
            if chosen is None:
                self.misses += 1
            else:
                self.hits += 1
        for container in stale:
            self._discard(container)
        return chosen

    def _pop_usable(self, key: str, wanted_key: str, stale: list[WarmContainer]) -> tuple[WarmContainer | None, bool]:
        """(the oldest usable container, whether the pool's spec fits the submission); call under the lock.
        Unusable ones go to `stale`. Oldest first: each is used before it ages out."""
        queue = self._warm[key]
        now = self.clock()
        while queue:
            container = queue.popleft()
            if container.key != wanted_key:  # this submission needs another spec: leave the pool as it is
                queue.appendleft(container)
                return None, False
            if container.usable(now, self.config.pool_max_age_s):
                return container, True
            stale.append(container)
        return None, True

    def retire(self, container_id: str) -> None:
        """Remove a used (or unusable) container in the background, off the submission's path."""
        with self._cond:
            if self._removals_open:
                self._removing += 1
                self._remover.submit(self._remove, container_id)
                return
        self._remove_now(container_id)  # the pool is stopped: remove inline

    def settle(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait until every background removal finished; True when none is left."""
        with self._cond:
            return self._cond.wait_for(lambda: self._removing == 0, timeout=timeout_s)

    def wait_ready(self, language: str, count: int = 1, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait until `count` containers of a language are warm (probes, tests and benchmarks); False at
        the timeout, or as soon as a start of that language failed (`last_error` says why)."""
        with self._cond:
            return (
                self._cond.wait_for(
                    lambda: self._closed or language in self._failures or len(self._warm.get(language, ())) >= count,
                    timeout=timeout_s,
                )
                and not self._closed
                and len(self._warm.get(language, ())) >= count
            )

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                "warm": {k: len(q) for k, q in self._warm.items() if q},
                "starting": sum(self._starting.values()),
                "removing": self._removing,
                "hits": self.hits,
                "misses": self.misses,
                "discarded": self.discarded,
                "started": self.started,
                "start_s": round(self._start_s, 3),
            }

    def warm_ids(self) -> list[str]:
        with self._cond:
            return [c.container_id for queue in self._warm.values() for c in queue]

    # -- the manager ----------------------------------------------------------------------------

    def _manage(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
            try:
                self._rebalance()
            except Exception:  # the manager must outlive any single bad round
                log.exception("warm pool: rebalance failed")
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(timeout=HOUSEKEEPING_INTERVAL_S)  # woken by takes, starts and removals

    def _rebalance(self) -> None:
        now = self.clock()
        cap_total = total_cap(self.config, self.host)
        discard: list[WarmContainer] = []
        to_start: list[str] = []
        with self._cond:
            for queue in self._warm.values():  # dead or aged: discard
                for container in [c for c in queue if not c.usable(now, self.config.pool_max_age_s)]:
                    queue.remove(container)
                    discard.append(container)
            unremoved, self._unremoved = list(self._unremoved), set()
            want = targets(
                self.config,
                self.languages,
                self._demand,
                slots=self.slots,
                cap_total=cap_total,
                start_s=self._start_s,
                now=now,
            )
            for key, count in want.items():  # shrink: the oldest go first
                queue = self._warm[key]
                while queue and len(queue) + self._starting[key] > count:
                    discard.append(queue.popleft())
            held = sum(len(q) for q in self._warm.values()) + sum(self._starting.values())
            affordable = affordable_starts(self.config, self.host, cap_total - held)
            for key, count in want.items():
                _, not_before = self._failures.get(key, (0, 0.0))
                if now < not_before:
                    continue
                deficit = count - len(self._warm[key]) - self._starting[key]
                while deficit > 0 and affordable > 0 and self._removing <= cap_total:
                    self._starting[key] += 1
                    to_start.append(key)
                    deficit -= 1
                    affordable -= 1
        for container in discard:
            self._discard(container)
        for container_id in unremoved:
            self.retire(container_id)
        for key in to_start:
            try:
                self._starter.submit(self._start_one, key)
            except RuntimeError:  # the pool is stopping
                with self._cond:
                    self._starting[key] -= 1

    def _start_one(self, key: str) -> None:
        language = self.languages[key]
        name = container_name()
        spec = container_spec(language, self.config.policy.defaults, self.config, name)
        began = self.clock()
        container_id: str | None = None
        stream: AttachedStream | None = None
        try:
            container_id = self.api.create(spec)
            stream = self.api.attach(container_id)
            self.api.start(container_id)
        except SandboxUnavailable as exc:
            log.warning("warm pool: starting a %s container failed: %s", key, exc)
            self.last_error = str(exc)
            if stream is not None:
                stream.close()
            with self._cond:
                self._starting[key] -= 1
                failures = self._failures.get(key, (0, 0.0))[0] + 1
                low, high = START_BACKOFF_S
                self._failures[key] = (failures, self.clock() + min(high, low * 2 ** (failures - 1)))
                self._cond.notify_all()
            if container_id is not None:
                self.retire(container_id)
            return
        now = self.clock()
        warm: WarmContainer | None = WarmContainer(container_id, name, key, spec_key(spec), stream, now)
        with self._cond:
            self._starting[key] -= 1
            self._start_s += START_SMOOTHING * ((now - began) - self._start_s)
            self._failures.pop(key, None)
            self.started += 1
            if not self._closed and warm is not None:
                self._warm[key].append(warm)
                warm = None
            self._cond.notify_all()
        if warm is not None:
            self._discard(warm)

    # -- removal --------------------------------------------------------------------------------

    def _discard(self, container: WarmContainer) -> None:
        container.stream.close()
        with self._cond:
            self.discarded += 1
        self.retire(container.container_id)

    def _remove(self, container_id: str) -> None:
        try:
            self.api.remove(container_id)
        except SandboxUnavailable as exc:
            log.warning("warm pool: removing %s failed, will retry: %s", container_id[:12], exc)
            with self._cond:
                self._unremoved.add(container_id)
        finally:
            with self._cond:
                self._removing -= 1
                self._cond.notify_all()

    def _remove_now(self, container_id: str) -> None:
        try:
            self.api.remove(container_id)
        except SandboxUnavailable as exc:  # a live owner's leftover; the orphan sweep covers a dead one
            log.warning("warm pool: removing %s failed: %s", container_id[:12], exc)
