from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from kodewar.stack import LocalStack

LOG_TAIL_LINES = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure of a test that uses a `stack`, attach the tail of every stack log: the cause is usually there."""
    report = yield
    stack = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(stack, LocalStack):
        for log in sorted(Path(stack.logs).glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"stack log {log.name}", "\n".join(lines)))
    return report
