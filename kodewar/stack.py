"""The whole stack on one machine: Redis (AOF, password), the API under gunicorn, and workers.

Used by `kodewar up`, the integration tests and the benchmarks, so all three run the same processes.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from kodewar.settings import load_settings
from kodewar.wiring import ensure_secret, token_authority
from sandbox.podman_api import PodmanAPI, SandboxUnavailable

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 70.0  # above the worker's graceful shutdown timeout


class StackError(RuntimeError):
    """A part of the stack did not come up; the message says which and where its log is."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class LocalStack:
    state_dir: Path
    api_port: int = 8000
    redis_port: int = 6389
    workers: int = 1
    slots: int = 2
    languages: list[str] | None = None
    worker_metrics_port: int = 9191  # worker i listens on this + i; 0 disables
    env: Mapping[str, str] = field(default_factory=dict)
    api_workers: int = 2
    redis_process: Process | None = None
    api: Process | None = None
    worker_processes: list[Process] = field(default_factory=list)

    # -- paths and environment ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    def child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KODEWAR_", "PROMETHEUS_"))}
        env.update(
            {
                "KODEWAR_STATE_DIR": str(self.state_dir),
                "KODEWAR_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "KODEWAR_REDIS_PASSWORD_FILE": str(self.state_dir / "redis.password"),
                "KODEWAR_JWT_SECRET_FILE": str(self.state_dir / "jwt.key"),
                "KODEWAR_PUBLIC_URL": self.url,
                "KODEWAR_API_WORKERS": str(self.api_workers),
                "PROMETHEUS_MULTIPROC_DIR": str(self.state_dir / "api-metrics"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for name in ("KODEWAR_WORKER_USER", "KODEWAR_PODMAN_URL", "KODEWAR_SECCOMP_PROFILE", "KODEWAR_IMAGE_PREFIX"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(self.env)
        return env

    def token(self, subject: str = "dev", scopes: tuple[str, ...] = ("submit", "read"), ttl_s: int = 7 * 86400) -> str:
        settings = load_settings(self.child_env())
        return token_authority(settings).issue(subject, scopes, ttl_s)

    def redis_client(self) -> redis.Redis:
        password = (self.state_dir / "redis.password").read_text().strip()
        return redis.Redis(host="127.0.0.1", port=self.redis_port, password=password, socket_timeout=5)

    # -- processes ------------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str]) -> Process:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 (the child owns it)
        popen = subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.child_env(),
            cwd=REPO,
            start_new_session=True,
        )
        handle.close()
        return Process(name, popen, log)

    def _wait(self, process: Process, ready: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not process.alive():
                raise StackError(f"{what} exited; its log ({process.log}):\n{process.tail()}")
            try:
                if ready():
                    return
            except (OSError, redis.RedisError, requests.RequestException):
                pass
            time.sleep(0.1)
        raise StackError(f"{what} not ready after {START_TIMEOUT_S:.0f} s; its log ({process.log}):\n{process.tail()}")

    def start_redis(self) -> None:
        data = self.state_dir / "redis"
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        password_file = self.state_dir / "redis.password"
        if not password_file.exists():
            fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
        conf = self.state_dir / "redis.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:  # the password lives here, not in argv where ps would show it
            handle.write(
                f"port {self.redis_port}\nbind 127.0.0.1\nprotected-mode yes\ndir {data}\n"
                'appendonly yes\nappendfsync everysec\nsave ""\nmaxmemory-policy noeviction\n'
                f"requirepass {password_file.read_text().strip()}\ndaemonize no\n"
            )
        if shutil.which("redis-server") is None:
            raise StackError("redis-server is not installed (make deps)")
        self.redis_process = self._spawn("redis", ["redis-server", str(conf)])
        client = self.redis_client()
        self._wait(self.redis_process, lambda: client.ping(), "redis")

    def stop_redis(self) -> None:
        if self.redis_process and self.redis_process.alive():
            self.redis_process.popen.send_signal(signal.SIGTERM)
            self.redis_process.popen.wait(timeout=STOP_TIMEOUT_S)

    def ensure_podman(self) -> None:
        settings = load_settings(self.child_env())
        api = PodmanAPI(settings.sandbox.podman_url, 5)
        try:
            api.ping()
            return
        except SandboxUnavailable:
            if os.geteuid() != 0:
                raise
        subprocess.run([str(REPO / "scripts" / "podman-service.sh")], check=True, env=self.child_env())
        api.ping()

    def start_api(self) -> None:
        metrics = self.state_dir / "api-metrics"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        bind = f"127.0.0.1:{self.api_port}"
        self.api = self._spawn("api", [sys.executable, "-m", "kodewar.cli", "api", "--bind", bind])
        self._wait(self.api, lambda: requests.get(self.url + "/healthz", timeout=1).ok, "the API")

    def start_worker(self) -> Process:
        index = len(self.worker_processes)
        argv = [sys.executable, "-m", "kodewar.cli", "worker", "--slots", str(self.slots)]
        argv += ["--metrics-port", str(self.worker_metrics_port + index if self.worker_metrics_port else 0)]
        if self.languages:
            argv += ["--languages", *self.languages]
        process = self._spawn(f"worker-{index}", argv)
        self.worker_processes.append(process)
        client = self.redis_client()
        before = {k for k in client.scan_iter(match="kw:worker:*")}
        self._wait(
            process, lambda: bool({k for k in client.scan_iter(match="kw:worker:*")} - before), f"worker {index}"
        )
        return process

    def start(self) -> LocalStack:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        ensure_secret(str(self.state_dir / "jwt.key"))
        try:
            self.start_redis()
            self.ensure_podman()
            self.start_api()
            for _ in range(self.workers):
                self.start_worker()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Workers first (they finish what they run), then the API, then Redis."""
        for process in [*self.worker_processes, self.api]:
            if process and process.alive():
                process.popen.send_signal(signal.SIGTERM)
        for process in [*self.worker_processes, self.api]:
            if process:
                try:
                    process.popen.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    os.killpg(process.popen.pid, signal.SIGKILL)
                    process.popen.wait()
        self.stop_redis()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
