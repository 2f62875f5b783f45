"""Settings from the environment (KODEWAR_*), with embedded defaults that run the local stack as is."""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from sandbox.config import SandboxConfig
from sandbox.limits import JUDGE0_DEFAULTS, JUDGE0_MAXIMA, LimitPolicy, Limits


class SettingsError(ValueError):
    """A KODEWAR_* variable is malformed."""


@dataclass(frozen=True)
class Settings:
    sandbox: SandboxConfig
    worker_user: str = "kodewar"


def default_podman_url(worker_user: str) -> str:
    """The worker user's rootless service socket, where systemd (or scripts/podman-service.sh) puts it."""
    try:
        uid = pwd.getpwnam(worker_user).pw_uid
    except KeyError:
        uid = os.getuid()
    return f"unix:///run/user/{uid}/podman/podman.sock"


def _limits(env: Mapping[str, str], prefix: str, base: Limits) -> Limits:
    values: dict[str, float | int] = {}
    for f in fields(Limits):
        raw = env.get(f"{prefix}{f.name.upper()}")
        if raw is None:
            continue
        try:
            values[f.name] = float(raw) if f.type in (float, "float") else int(raw)
        except ValueError as exc:
            raise SettingsError(f"{prefix}{f.name.upper()}={raw!r} is not a number") from exc
    return replace(base, **values)  # type: ignore[arg-type]


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} must be true or false")


def cgroup_v2_delegated() -> bool:
    """Unified hierarchy with the memory and pids controllers available to us."""
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as handle:
            controllers = handle.read().split()
    except OSError:
        return False
    return {"memory", "pids"} <= set(controllers)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    user = env.get("KODEWAR_WORKER_USER", "kodewar")
    policy = LimitPolicy(
        defaults=_limits(env, "KODEWAR_DEFAULT_", JUDGE0_DEFAULTS),
        maxima=_limits(env, "KODEWAR_MAX_", JUDGE0_MAXIMA),
    )
    base = SandboxConfig()
    sandbox = replace(
        base,
        podman_url=env.get("KODEWAR_PODMAN_URL", default_podman_url(user)),
        image_prefix=env.get("KODEWAR_IMAGE_PREFIX", base.image_prefix),
        base_image=env.get("KODEWAR_BASE_IMAGE", base.base_image),
        seccomp_profile_path=env.get("KODEWAR_SECCOMP_PROFILE", base.seccomp_profile_path),
        oci_runtime=env.get("KODEWAR_OCI_RUNTIME", base.oci_runtime),
        cgroup_limits=_flag(env, "KODEWAR_CGROUP_LIMITS", cgroup_v2_delegated()),
        policy=policy,
    )
    return Settings(sandbox=sandbox, worker_user=user)
