"""Settings the sandbox needs, as one immutable value built by the composition root (kodewar.settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.limits import LimitPolicy
from sandbox.submission import SizeCaps


@dataclass(frozen=True)
class SandboxConfig:
    podman_url: str = "unix:///run/user/1001/podman/podman.sock"
    image_prefix: str = "localhost/kodewar"
    base_image: str = "localhost/kodewar/base:bookworm"
    seccomp_profile_path: str = "/etc/kodewar/seccomp.json"
    oci_runtime: str = "runc"
    policy: LimitPolicy = field(default_factory=LimitPolicy)
    caps: SizeCaps = field(default_factory=SizeCaps)
    work_dir_mb: int = 256  # tmpfs /box: sources, binaries and files a program writes
    tmp_dir_mb: int = 64  # tmpfs /tmp
    shm_mb: int = 16  # /dev/shm
    display_output_kib: int = 64  # per stream kept in the result; the checker sees the whole output
    startup_grace_s: float = 15.0  # beyond the sum of the stages' wall limits, before the container is removed
    per_test_grace_s: float = 1.0
    fork_servers: bool = True  # languages with a fork_server run each test as a fork of one started interpreter
    fork_server_min_runs: int = 2  # ... when the submission has this many test runs; one run starts faster fresh
    cgroup_limits: bool = False  # apply --memory/--pids-limit/--cpus too (cgroup v2 with delegation)
    api_timeout_s: float = 30.0  # one podman API call
    uid_range: tuple[int, int] = (10000, 60000)  # sandbox uids, random per run so concurrent runs never share one
    # Warm pool (sandbox.pool), used by workers: containers created, attached and started ahead of demand,
    # each handed one job and removed after it. Sizes follow demand, capped by the host's cores and memory.
    pool_enabled: bool = True
    pool_max_total: int = 0  # warm + starting containers per worker process; 0: derived from cores and memory
    pool_per_core: int = 2  # the derived cap allows this many per core
    pool_memory_fraction: float = 0.1  # ... and at most this share of the host's memory in idle warm containers
    pool_container_mb: int = 32  # budget per idle warm container (PSS measured 6.8 MiB: docs/benchmarks.md)
    pool_min_free_mb: int = 1024  # no new warm container while the host has less memory available than this
    pool_min: tuple[tuple[str, int], ...] = ()  # per-language floor, e.g. (("python", 1),); others 0
    pool_max_per_language: int = 0  # 0: the worker's slots + 1
    pool_idle_s: float = 300.0  # a language unused this long shrinks to its floor
    pool_rate_window_s: float = 10.0  # time constant of the demand estimate
    pool_max_age_s: float = 300.0  # a warm container older than this is discarded, never used
    pool_fill_threads: int = 2  # containers started at once
    pool_remove_threads: int = 2  # containers removed at once, in the background
