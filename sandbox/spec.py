"""The libpod container spec of a sandbox: every isolation flag in one reviewable place."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.limits import Limits

HARNESS_PATH = Path(__file__).with_name("harness") / "harness.py"
SANDBOX_LABEL = "org.kodewar.sandbox"
OWNER_LABEL = "org.kodewar.owner"  # "host:pid" of the process that must remove the container
MIB = 1024 * 1024


@lru_cache(maxsize=1)
def harness_source() -> str:
    """The harness travels in argv, so images never hold a stale copy of it."""
    return HARNESS_PATH.read_text()


def _tmpfs(target: str, size_mb: int, *, exec_allowed: bool) -> dict[str, object]:
    options = [f"size={size_mb}m", "mode=1777", "nosuid", "nodev", "exec" if exec_allowed else "noexec"]
    return {"destination": target, "type": "tmpfs", "source": "tmpfs", "options": options}


def container_name() -> str:
    """Sandbox names are `kodewar-` and 12 hex digits, warm or cold (operators and tests filter on it)."""
    return f"kodewar-{os.urandom(6).hex()}"  # not secrets: it costs `kodewar run` ~4 ms of imports


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def container_spec(language: Language, limits: Limits, config: SandboxConfig, name: str) -> dict[str, object]:
    spec: dict[str, object] = {
        "name": name,
        "image": language.image(config.image_prefix),
        "command": ["python3", "-I", "-S", "-c", harness_source()],
        "labels": {SANDBOX_LABEL: "1", OWNER_LABEL: owner(), "org.kodewar.language": language.key},
        "stdin": True,
        "user": "0",  # the harness; it drops to a random unprivileged uid before running anything
        "cap_drop": ["ALL"],
        "cap_add": ["CAP_SETUID", "CAP_SETGID"],
        "no_new_privileges": True,
        "seccomp_profile_path": config.seccomp_profile_path,
        "read_only_filesystem": True,
        "read_write_tmpfs": False,
        # /dev/zero mapped MAP_SHARED is memory RLIMIT_DATA does not count; masked, it reads as /dev/null.
        "mask": ["/dev/zero"],  # no unbounded podman tmpfs on /tmp, /run, /var/tmp
        "mounts": [
            _tmpfs("/box", config.work_dir_mb, exec_allowed=language.exec_box),
            _tmpfs("/tmp", config.tmp_dir_mb, exec_allowed=False),
        ],
        "shm_size": config.shm_mb * MIB,
        "netns": {"nsmode": "none"},
        "cgroupns": {"nsmode": "private"},
        "ipcns": {"nsmode": "private"},
        "utsns": {"nsmode": "private"},
        "hostname": "sandbox",
        "env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
        "httpproxy": False,  # podman would otherwise copy the service's proxy variables in
        "r_limits": [{"type": "nofile", "soft": 1024, "hard": 1024}],
        "oom_score_adj": 1000,  # if the host runs short, a sandbox dies first
        "log_configuration": {"driver": "none"},  # results come back over the attach pipe only
        "oci_runtime": config.oci_runtime,
    }
    if config.cgroup_limits:
        memory_bytes = (max(limits.memory_mb, config.policy.compile.memory_mb) + language.memory_overhead_mb) * MIB
        spec["resource_limits"] = {
            "memory": {
                "limit": memory_bytes + config.work_dir_mb * MIB,
                "swap": memory_bytes + config.work_dir_mb * MIB,
            },
            "pids": {"limit": max(limits.max_processes, config.policy.compile.max_processes) + 8},
        }
    return spec
