"""Request bodies and a finished result shared by the API unit tests."""

from __future__ import annotations

from typing import Any

from sandbox.result import Output, Result, TestResult
from sandbox.statuses import Status

SEED: dict[str, Any] = {
    "code": "def solution(x): return x * 2",
    "language": "python",
    "test_cases": [{"input": "2", "expected": "4"}],
}


def finished_result() -> dict[str, Any]:
    """What a worker writes: Result.as_dict of a run with one pass and one crash."""
    tests = (
        TestResult(Status.ACCEPTED, time=0.01, wall_time=0.02, memory=9000, exit_code=0, stdout=Output("4\n")),
        TestResult(Status.RUNTIME_ERROR_SIGSEGV, signal=11, stderr=Output("x" * 10, truncated=True), message="boom"),
    )
    return Result("python", tests).as_dict()
