"""Settings from the environment (KODEWAR_*), with embedded defaults that run the local stack as is."""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from actors.config import QueueConfig
from api.config import ApiConfig
from sandbox.config import SandboxConfig
from sandbox.limits import JUDGE0_DEFAULTS, JUDGE0_MAXIMA, LimitPolicy, Limits


class SettingsError(ValueError):
    """A KODEWAR_* variable is malformed."""


@dataclass(frozen=True)
class Settings:
    sandbox: SandboxConfig
    queue: QueueConfig = field(default_factory=QueueConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    worker_user: str = "kodewar"
    state_dir: str = "/var/lib/kodewar"
    jwt_secret_file: str = "/var/lib/kodewar/jwt.key"
    jwt_issuer: str = "kodewar"
    jwt_audience: str = "kodewar-api"
    webhook_secret_file: str | None = None
    redis_password_file: str | None = None

    def redis_password(self) -> str | None:
        if not self.redis_password_file:
            return None
        try:
            with open(self.redis_password_file) as handle:
                return handle.read().strip() or None
        except OSError as exc:
            raise SettingsError(f"cannot read the Redis password {self.redis_password_file}: {exc.strerror}") from exc

    def jwt_secret(self) -> bytes:
        """The signing key: KODEWAR_JWT_SECRET's value never sits in settings, only the file it is read from."""
        try:
            with open(self.jwt_secret_file, "rb") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise SettingsError(
                f"cannot read the JWT secret {self.jwt_secret_file}: {exc.strerror} (run `kodewar secret init`)"
            ) from exc


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


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc


def _pool_min(raw: str | None, default: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """KODEWAR_POOL_MIN="python=1,c=1": warm containers kept per language even when it is idle."""
    if raw is None:
        return default
    floors = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        key, sep, count = item.partition("=")
        if not sep or not key.strip() or not count.strip().isdigit():
            raise SettingsError(f"KODEWAR_POOL_MIN={raw!r}: use language=count pairs, e.g. python=1,c=1")
        floors.append((key.strip(), int(count)))
    return tuple(floors)


def default_state_dir() -> str:
    if os.getuid() == 0:
        return "/var/lib/kodewar"
    return os.path.join(os.environ.get("XDG_STATE_HOME", os.path.expanduser("~/.local/state")), "kodewar")


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
        fork_servers=_flag(env, "KODEWAR_FORK_SERVERS", base.fork_servers),
        policy=policy,
        pool_enabled=_flag(env, "KODEWAR_POOL", base.pool_enabled),
        pool_max_total=int(_number(env, "KODEWAR_POOL_MAX_TOTAL", base.pool_max_total)),
        pool_max_per_language=int(_number(env, "KODEWAR_POOL_MAX_PER_LANGUAGE", base.pool_max_per_language)),
        pool_min=_pool_min(env.get("KODEWAR_POOL_MIN"), base.pool_min),
        pool_idle_s=_number(env, "KODEWAR_POOL_IDLE_S", base.pool_idle_s),
        pool_max_age_s=_number(env, "KODEWAR_POOL_MAX_AGE_S", base.pool_max_age_s),
        pool_min_free_mb=int(_number(env, "KODEWAR_POOL_MIN_FREE_MB", base.pool_min_free_mb)),
    )
    q = QueueConfig()
    queue = replace(
        q,
        redis_url=env.get("KODEWAR_REDIS_URL", q.redis_url),
        queue_name=env.get("KODEWAR_QUEUE", q.queue_name),
        route_by_language=_flag(env, "KODEWAR_ROUTE_BY_LANGUAGE", q.route_by_language),
        result_ttl_s=int(_number(env, "KODEWAR_RESULT_TTL_S", q.result_ttl_s)),
        heartbeat_interval_s=_number(env, "KODEWAR_HEARTBEAT_INTERVAL_S", q.heartbeat_interval_s),
        heartbeat_ttl_s=_number(env, "KODEWAR_HEARTBEAT_TTL_S", q.heartbeat_ttl_s),
        janitor_interval_s=_number(env, "KODEWAR_JANITOR_INTERVAL_S", q.janitor_interval_s),
        worker_threads=int(_number(env, "KODEWAR_WORKER_SLOTS", q.worker_threads)),
        shutdown_timeout_s=_number(env, "KODEWAR_SHUTDOWN_TIMEOUT_S", q.shutdown_timeout_s),
        consumer_wakeup=_flag(env, "KODEWAR_CONSUMER_WAKEUP", q.consumer_wakeup),
        webhook_timeout_s=_number(env, "KODEWAR_WEBHOOK_TIMEOUT_S", q.webhook_timeout_s),
        webhook_retries=int(_number(env, "KODEWAR_WEBHOOK_RETRIES", q.webhook_retries)),
        webhook_allow_private=_flag(env, "KODEWAR_WEBHOOK_ALLOW_PRIVATE", q.webhook_allow_private),
        metrics_host=env.get("KODEWAR_WORKER_METRICS_HOST", q.metrics_host),
        metrics_port=int(_number(env, "KODEWAR_WORKER_METRICS_PORT", q.metrics_port)),
    )
    a = ApiConfig()
    api = replace(
        a,
        max_wait_s=_number(env, "KODEWAR_MAX_WAIT_S", a.max_wait_s),
        rate_limit_per_minute=int(_number(env, "KODEWAR_RATE_LIMIT_PER_MINUTE", a.rate_limit_per_minute)),
        max_queue_depth=int(_number(env, "KODEWAR_MAX_QUEUE_DEPTH", a.max_queue_depth)),
        public_url=env.get("KODEWAR_PUBLIC_URL", a.public_url),
    )
    state_dir = env.get("KODEWAR_STATE_DIR", default_state_dir())
    return Settings(
        sandbox=sandbox,
        queue=queue,
        api=api,
        worker_user=user,
        state_dir=state_dir,
        jwt_secret_file=env.get("KODEWAR_JWT_SECRET_FILE", os.path.join(state_dir, "jwt.key")),
        jwt_issuer=env.get("KODEWAR_JWT_ISSUER", "kodewar"),
        jwt_audience=env.get("KODEWAR_JWT_AUDIENCE", "kodewar-api"),
        webhook_secret_file=env.get("KODEWAR_WEBHOOK_SECRET_FILE"),
        redis_password_file=env.get("KODEWAR_REDIS_PASSWORD_FILE"),
    )
