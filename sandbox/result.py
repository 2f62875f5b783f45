"""The result contract (DESIGN.md): what `kodewar run --json` prints and the status endpoints return."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace

from sandbox.statuses import Status, overall


@dataclass(frozen=True)
class Output:
    """A captured stream, decoded for display and capped; ``truncated`` tells the client it is partial.

    ``raw`` keeps the captured bytes when ``text`` is not an exact decoding of them (invalid UTF-8),
    so a client that asked for base64 (Judge0's base64_encoded) gets the bytes the program wrote.
    """

    text: str = ""
    truncated: bool = False
    raw: bytes | None = None

    @classmethod
    def capture(cls, data: bytes, cap_bytes: int, truncated: bool = False) -> Output:
        cut = data[:cap_bytes]
        text = cut.decode("utf-8", errors="replace")
        exact = "\ufffd" not in text or text.encode() == cut
        return cls(text, truncated or len(data) > cap_bytes, None if exact else cut)

    def extra(self, key: str) -> dict[str, str]:
        """``{key: base64 of raw}`` when the text is lossy, else nothing: the key is absent normally."""
        return {key: base64.b64encode(self.raw).decode()} if self.raw is not None else {}


@dataclass(frozen=True)
class TestResult:
    status: Status
    time: float = 0.0  # CPU seconds
    wall_time: float = 0.0  # seconds
    memory: int = 0  # peak resident KiB
    exit_code: int | None = None
    signal: int | None = None
    stdout: Output = field(default_factory=Output)
    stderr: Output = field(default_factory=Output)
    message: str | None = None

    def as_dict(self, index: int) -> dict[str, object]:
        return {
            "index": index,
            "status": self.status.as_dict(),
            "passed": self.status is Status.ACCEPTED,
            "time": self.time,
            "wall_time": self.wall_time,
            "memory": self.memory,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "stdout": self.stdout.text,
            "stdout_truncated": self.stdout.truncated,
            "stderr": self.stderr.text,
            "stderr_truncated": self.stderr.truncated,
            "message": self.message,
            **self.stdout.extra("stdout_base64"),
            **self.stderr.extra("stderr_base64"),
        }


@dataclass(frozen=True)
class Result:
    language: str
    tests: tuple[TestResult, ...]
    compile_output: Output = field(default_factory=Output)
    compile_status: Status | None = None  # set when the compile stage itself failed
    message: str | None = None

    @property
    def status(self) -> Status:
        if self.compile_status is not None:
            return self.compile_status
        return overall([t.status for t in self.tests])

    @property
    def passed(self) -> int:
        return sum(t.status is Status.ACCEPTED for t in self.tests)

    def as_dict(self) -> dict[str, object]:
        ran = [t for t in self.tests if t.status is not Status.SKIPPED]
        return {
            "status": self.status.as_dict(),
            "language": self.language,
            "compile_output": self.compile_output.text,
            "compile_output_truncated": self.compile_output.truncated,
            **self.compile_output.extra("compile_output_base64"),
            "message": self.message,
            "passed": self.passed,
            "total": len(self.tests),
            "time": max((t.time for t in ran), default=0.0),
            "wall_time": max((t.wall_time for t in ran), default=0.0),
            "memory": max((t.memory for t in ran), default=0),
            "tests": [t.as_dict(i) for i, t in enumerate(self.tests)],
        }


def combine_runs(runs: list[TestResult]) -> TestResult:
    """One test run number_of_runs times, as Judge0 reports it: the runs up to the first that is not
    Accepted count, the last of them gives the verdict and the outputs, CPU time and memory are means."""
    counted: list[TestResult] = []
    for run in runs:
        counted.append(run)
        if run.status is not Status.ACCEPTED:
            break
    last = counted[-1]
    if len(counted) == 1:
        return last
    return replace(
        last,
        time=round(sum(r.time for r in counted) / len(counted), 4),
        memory=round(sum(r.memory for r in counted) / len(counted)),
    )


def failed_before_tests(
    language: str, status: Status, count: int, message: str, compile_output: Output = Output()
) -> Result:
    """A result where no test ran (compile error, infrastructure failure): every test Skipped."""
    skipped = tuple(TestResult(status=Status.SKIPPED) for _ in range(count))
    return Result(language, skipped, compile_output, compile_status=status, message=message)
