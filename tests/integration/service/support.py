"""Helpers for the service tests: an HTTP client bound to one token, polling, metrics and a webhook receiver."""

from __future__ import annotations

import json
import os
import pwd
import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from kodewar.stack import LocalStack
from sandbox.statuses import Status

HTTP_TIMEOUT_S = 40.0  # above the API's longest long-poll (30 s)
POLL_INTERVAL_S = 0.1
FINISH_TIMEOUT_S = 60.0

SEED = {"code": "def solution(x): return x * 2", "language": "python", "test_cases": [{"input": "2", "expected": "4"}]}
TRIPLE = {**SEED, "code": "def solution(x): return x * 3"}


def sleeper(seconds: float, factor: int = 2) -> dict[str, Any]:
    """A function-mode submission that surely runs for `seconds` before answering x * factor."""
    code = f"import time\n\ndef solution(x):\n    time.sleep({seconds})\n    return x * {factor}\n"
    return {"code": code, "language": "python", "test_cases": [{"input": "2", "expected": "4"}]}


EXPLICIT_PORTS_LOW = 20000  # free_port_run's runs start at or above this, below the ephemeral range


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_run(length: int, attempts: int = 50) -> int:
    """The first of `length` consecutive free loopback ports (worker i serves metrics on base + i).

    Below the kernel's ephemeral range: a port in it, free now, can be handed to any outgoing
    connection or bind(0) before a worker started later binds it."""
    ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(attempts):
        base = random.randrange(EXPLICIT_PORTS_LOW, ephemeral_low - length)
        sockets = []
        try:
            for port in range(base, base + length):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no run of {length} free ports found")


@contextmanager
def running_stack(
    state: Path,
    *,
    workers: int,
    slots: int,
    languages: list[str],
    metrics_ports: int,
    env: dict[str, str] | None = None,
) -> Iterator[LocalStack]:
    """A LocalStack on free loopback ports (worker i's metrics on the run's base + i), stopped afterwards."""
    local = LocalStack(
        state,
        api_port=free_port(),
        redis_port=free_port(),
        workers=workers,
        slots=slots,
        languages=languages,
        worker_metrics_port=free_port_run(metrics_ports),
        env=env or {},
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@dataclass
class Client:
    """One API user: a base URL and a bearer token (or none)."""

    url: str
    token: str | None
    session: requests.Session = field(default_factory=requests.Session)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, timeout_s: float = HTTP_TIMEOUT_S, **params: Any) -> requests.Response:
        return self.session.get(self.url + path, params=params, headers=self.headers(), timeout=timeout_s)

    def post(self, path: str, body: Any, timeout_s: float = HTTP_TIMEOUT_S, **params: Any) -> requests.Response:
        return self.session.post(self.url + path, json=body, params=params, headers=self.headers(), timeout=timeout_s)

    def submit(self, body: dict[str, Any]) -> str:
        response = self.post("/api/submit/", body)
        assert response.status_code == 202, response.text
        return str(response.json()["submission_id"])

    def status(self, submission_id: str) -> dict[str, Any]:
        response = self.get("/api/status/", submission_id=submission_id)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_finished(self, submission_id: str, timeout_s: float = FINISH_TIMEOUT_S) -> dict[str, Any]:
        """Long-poll the native endpoint until the submission has a verdict."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"submission {submission_id} did not finish in {timeout_s} s"
            wait = max(1, min(int(remaining), 30))
            response = self.get(f"/api/v1/submissions/{submission_id}", wait=str(wait))
            if response.status_code == 200:
                return dict(response.json())
            assert response.status_code == 202, response.text


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = POLL_INTERVAL_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(interval_s)


def status_id(view: dict[str, Any]) -> int:
    return int(view["status"]["id"])


def metric_sum(text: str, name: str) -> float:
    """Sum of every sample of one counter in Prometheus text format (all label sets)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def scrape(port: int, name: str) -> float:
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    return metric_sum(response.text, name)


ACCEPTED = int(Status.ACCEPTED)
WRONG_ANSWER = int(Status.WRONG_ANSWER)


@dataclass
class Delivery:
    at: float  # time.monotonic() on arrival
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the next code of a script (then 200)."""

    url: str
    deliveries: list[Delivery]
    answers: list[int]
    arrived: threading.Condition

    def wait_for(self, count: int, timeout_s: float) -> list[Delivery]:
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout=timeout_s)
        assert ok, f"webhook receiver got {len(self.deliveries)} deliveries in {timeout_s} s, wanted {count}"
        return list(self.deliveries)


@contextmanager
def webhook_receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    deliveries: list[Delivery] = []
    script = list(answers or [])
    arrived = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with arrived:
                code = script.pop(0) if script else 200
                deliveries.append(Delivery(time.monotonic(), dict(self.headers.items()), json.loads(raw)))
                arrived.notify_all()
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook", deliveries, list(answers or []), arrived)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SANDBOX_NAME_FILTER = "name=^kodewar-[0-9a-f]{12}$"  # sandbox.runner names its containers so


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    """The podman CLI as the worker user, whose rootless storage holds the sandbox containers."""
    user = os.environ.get("KODEWAR_WORKER_USER", "kodewar")
    entry = pwd.getpwnam(user)
    argv = ["podman", *args]
    if os.geteuid() == 0:
        env = ["env", f"XDG_RUNTIME_DIR=/run/user/{entry.pw_uid}", f"HOME={entry.pw_dir}"]
        argv = ["runuser", "-u", user, "--", *env, *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)


ORPHAN_AFTER_EXIT_S = 2.0  # a live runner removes its container within milliseconds of the exit


def orphaned_sandboxes(created_after: float) -> list[str]:
    """Sandbox containers created after a wall-clock time that exited a while ago and are still present:
    no runner owns them any more (containers of other tests running at the same time are left alone)."""
    listed = json.loads(podman("ps", "-a", "--filter", SANDBOX_NAME_FILTER, "--format", "json").stdout or "[]")
    now = time.time()
    return [
        c["Names"][0]
        for c in listed
        if c.get("Exited")
        and float(c["Created"]) >= int(created_after)
        and now - float(c.get("ExitedAt") or now) >= ORPHAN_AFTER_EXIT_S
    ]


def remove_containers(names: list[str]) -> None:
    if names:
        podman("rm", "-f", *names)
