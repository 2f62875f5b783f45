"""One real stack for the compat tests: Redis, the API under gunicorn, one worker with two slots.

Two slots, so a test can hold both with sleepers and see a third submission In Queue (Judge0 id 1).
"""

from __future__ import annotations

from collections.abc import Iterator

import judge0
import pytest

from kodewar.stack import LocalStack
from tests.integration.service.support import free_port, free_port_run

LANGUAGES = ["python", "c", "cpp", "javascript"]
SLOTS = 2


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    local = LocalStack(
        tmp_path_factory.mktemp("compat-stack"),
        api_port=free_port(),
        redis_port=free_port(),
        workers=1,
        slots=SLOTS,
        languages=LANGUAGES,
        worker_metrics_port=free_port_run(2),
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def token(stack: LocalStack) -> str:
    return stack.token("compat-user", ("submit", "read"))


@pytest.fixture(scope="session")
def client(stack: LocalStack, token: str) -> judge0.Client:
    """The official SDK's client, pointed at /judge0 with our JWT in Judge0's X-Auth-Token header."""
    return judge0.Client(f"{stack.url}/judge0", {"X-Auth-Token": token})
