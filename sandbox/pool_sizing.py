"""How many warm containers each language gets: demand per language, within what the host can afford.

Pure functions and small values, apart from the real host probe, so the policy is unit-tested alone.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sandbox.config import SandboxConfig

MEMINFO_PATH = "/proc/meminfo"
KIB_PER_MIB = 1024
MISS_PROBABILITY = 0.05  # sized so that a take finds a warm container this often at a steady rate


class Host(Protocol):
    """What the sizing needs to know about the machine (a fake in tests)."""

    def cores(self) -> int: ...

    def memory_total_mb(self) -> int: ...

    def memory_available_mb(self) -> int: ...


class LinuxHost:
    """The real machine, from os.cpu_count() and /proc/meminfo."""

    def cores(self) -> int:
        return len(os.sched_getaffinity(0)) or os.cpu_count() or 1

    def memory_total_mb(self) -> int:
        return _meminfo_mb("MemTotal")

    def memory_available_mb(self) -> int:
        return _meminfo_mb("MemAvailable")


def _meminfo_mb(field: str) -> int:
    try:
        with open(MEMINFO_PATH) as handle:
            for line in handle:
                name, _, rest = line.partition(":")
                if name == field:
                    return int(rest.split()[0]) // KIB_PER_MIB
    except (OSError, ValueError, IndexError):
        pass
    return 0  # unknown: the pool then refuses to grow (fail closed)


@dataclass
class Demand:
    """Takes per second of one language as an exponentially decaying average, and when it was last used."""

    rate_per_s: float = 0.0  # as of `at`
    at: float = 0.0
    last_used: float = -math.inf

    def rate_at(self, now: float, window_s: float) -> float:
        if not self.rate_per_s:
            return 0.0
        return self.rate_per_s * math.exp(-max(0.0, now - self.at) / window_s)

    def record(self, now: float, window_s: float) -> None:
        self.rate_per_s = self.rate_at(now, window_s) + 1.0 / window_s
        self.at = now
        self.last_used = now


def total_cap(config: SandboxConfig, host: Host) -> int:
    """Warm + starting containers one worker may hold: the configured cap, never above what the host's
    memory budget allows; derived from cores and memory when not configured."""
    by_memory = int(host.memory_total_mb() * config.pool_memory_fraction) // max(1, config.pool_container_mb)
    if config.pool_max_total > 0:
        return max(0, min(config.pool_max_total, by_memory))
    return max(0, min(host.cores() * config.pool_per_core, by_memory))


def affordable_starts(config: SandboxConfig, host: Host, room: int) -> int:
    """How many more containers may start now: the room left under the cap, and no more than the memory
    the host has available right now above its reserve (this counts every process, other workers too)."""
    if room <= 0:
        return 0
    spare_mb = host.memory_available_mb() - config.pool_min_free_mb
    return max(0, min(room, spare_mb // max(1, config.pool_container_mb)))


def per_language_cap(config: SandboxConfig, slots: int) -> int:
    """More warm containers than the worker can use before a refill lands would only idle."""
    return config.pool_max_per_language if config.pool_max_per_language > 0 else max(1, slots + 1)


def poisson_quantile(mean: float, probability: float) -> int:
    """Smallest n with P(N <= n) >= probability for N ~ Poisson(mean)."""
    term = cumulative = math.exp(-mean)
    n = 0
    while cumulative < probability and n < 10_000:
        n += 1
        term *= mean / n
        cumulative += term
    return n


def wanted(config: SandboxConfig, demand: Demand | None, floor: int, cap: int, start_s: float, now: float) -> int:
    """One language's wish: its floor when idle; while used, one for the next take plus the takes that
    arrive while its replacement starts (Poisson at the recent rate, 95th percentile)."""
    floor = min(floor, cap)
    if demand is None or now - demand.last_used > config.pool_idle_s:
        return floor
    during_refill = demand.rate_at(now, config.pool_rate_window_s) * start_s
    return max(floor, min(cap, 1 + poisson_quantile(during_refill, 1 - MISS_PROBABILITY)))


def targets(
    config: SandboxConfig,
    languages: Iterable[str],
    demand: Mapping[str, Demand],
    *,
    slots: int,
    cap_total: int,
    start_s: float,
    now: float,
) -> dict[str, int]:
    """Warm containers per language. When the wishes exceed the total cap, it is filled one container at a
    time in order of demand, so every language in use gets one before any gets a second."""
    cap = per_language_cap(config, slots)
    floors = dict(config.pool_min)
    wishes = {k: wanted(config, demand.get(k), floors.get(k, 0), cap, start_s, now) for k in languages}
    order = sorted(
        wishes, key=lambda k: (-(demand[k].rate_at(now, config.pool_rate_window_s) if k in demand else 0.0), k)
    )
    granted = dict.fromkeys(wishes, 0)
    budget = cap_total
    while budget > 0:
        progressed = False
        for key in order:
            if budget > 0 and granted[key] < wishes[key]:
                granted[key] += 1
                budget -= 1
                progressed = True
        if not progressed:
            break
    return granted
