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
    cgroup_limits: bool = False  # apply --memory/--pids-limit/--cpus too (cgroup v2 with delegation)
    api_timeout_s: float = 30.0  # one podman API call
    uid_range: tuple[int, int] = (10000, 60000)  # sandbox uids, random per run so concurrent runs never share one
