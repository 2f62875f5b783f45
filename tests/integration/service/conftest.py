"""One real stack for the service tests: Redis (AOF), the API under gunicorn and two worker processes.

Recovery timing is shortened through the environment so a dead worker is noticed within seconds
(heartbeat TTL 3 s, janitor every 1 s); the tests derive their time bounds from these same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from kodewar.stack import LocalStack, Process
from tests.integration.service.support import Client, running_stack, wait_until

WORKERS = 2
SLOTS = 2
HEARTBEAT_TTL_S = 3.0
HEARTBEAT_INTERVAL_S = 0.5
JANITOR_INTERVAL_S = 1.0
WEBHOOK_RETRIES = 3  # four deliveries at most; Dramatiq's back-off from 0.5 s doubles (0.5-1, 1-2, 2-4 s)
METRICS_PORTS = 6  # the two first workers plus replacements started by the recovery tests
STACK_ENV = {
    "KODEWAR_HEARTBEAT_TTL_S": str(HEARTBEAT_TTL_S),
    "KODEWAR_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_INTERVAL_S),
    "KODEWAR_JANITOR_INTERVAL_S": str(JANITOR_INTERVAL_S),
    "KODEWAR_WEBHOOK_ALLOW_PRIVATE": "true",
    "KODEWAR_WEBHOOK_RETRIES": str(WEBHOOK_RETRIES),
    "KODEWAR_WEBHOOK_TIMEOUT_S": "2",
}

ClientFactory = Callable[..., Client]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state = tmp_path_factory.mktemp("stack")
    with running_stack(
        state, workers=WORKERS, slots=SLOTS, languages=["python"], metrics_ports=METRICS_PORTS, env=STACK_ENV
    ) as local:
        yield local


@pytest.fixture(scope="session")
def client(stack: LocalStack) -> ClientFactory:
    """client(subject, scopes) -> a Client holding a fresh token for that subject."""

    def make(subject: str = "tester", scopes: tuple[str, ...] = ("submit", "read")) -> Client:
        return Client(stack.url, stack.token(subject, scopes))

    return make


def live_workers(stack: LocalStack) -> dict[str, dict[str, object]]:
    """Heartbeat JSON of every live worker, by worker id."""
    redis = stack.redis_client()
    keys = list(redis.scan_iter(match="kw:worker:*"))
    beats = [json.loads(raw) for raw in redis.mget(keys) if raw] if keys else []
    return {str(beat["worker_id"]): beat for beat in beats}


def process_of(stack: LocalStack, pid: int) -> Process:
    for process in stack.worker_processes:
        if process.popen.pid == pid:
            return process
    raise LookupError(f"no worker process of this stack has pid {pid}")


def metrics_port(stack: LocalStack, process: Process) -> int:
    return stack.worker_metrics_port + stack.worker_processes.index(process)


@pytest.fixture(autouse=True)
def healthy(stack: LocalStack) -> None:
    """Every test starts with Redis up and two live workers (a recovery test may have lost one)."""
    if stack.redis_process is None or not stack.redis_process.alive():
        stack.start_redis()
    alive = [p for p in stack.worker_processes if p.alive()]
    for _ in range(WORKERS - len(alive)):
        stack.start_worker()
    wait_until(lambda: len(live_workers(stack)) >= WORKERS, 10, "two live workers")
