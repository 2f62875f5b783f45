"""One real stack for the compat tests: Redis, the API under gunicorn, one worker with two slots.

Two slots, so a test can hold both with sleepers and see a third submission In Queue (Judge0 id 1).
"""

from __future__ import annotations

from collections.abc import Iterator

import judge0
import pytest

from kodewar.stack import LocalStack
from tests.integration.service.support import running_stack

LANGUAGES = ["python", "c", "cpp", "javascript"]
SLOTS = 2


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(
        tmp_path_factory.mktemp("compat-stack"), workers=1, slots=SLOTS, languages=LANGUAGES, metrics_ports=2
    ) as local:
        yield local


@pytest.fixture(scope="session")
def token(stack: LocalStack) -> str:
    return stack.token("compat-user", ("submit", "read"))


@pytest.fixture(scope="session")
def client(stack: LocalStack, token: str) -> judge0.Client:
    """The official SDK's client, pointed at /judge0 with our JWT in Judge0's X-Auth-Token header."""
    return judge0.Client(f"{stack.url}/judge0", {"X-Auth-Token": token})
