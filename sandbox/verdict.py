"""Turn one harness stage report (raw measurements) into a status: the judging rules in one place."""

from __future__ import annotations

import base64
import errno as errnos
import re
import signal as signals
from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.checkers import CheckerSpec, check
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.result import Output, TestResult
from sandbox.statuses import Status

FILE_TOO_LARGE = re.compile(r"file too large|EFBIG", re.IGNORECASE)  # strerror(EFBIG): runtimes that ignore SIGXFSZ
MLE_RSS_FRACTION = 0.9  # a crash with peak RSS this close to the limit is taken as running out of memory

SIGNAL_STATUS: dict[int, Status] = {
    signals.SIGSEGV: Status.RUNTIME_ERROR_SIGSEGV,
    signals.SIGBUS: Status.RUNTIME_ERROR_SIGSEGV,
    signals.SIGXFSZ: Status.RUNTIME_ERROR_SIGXFSZ,
    signals.SIGFPE: Status.RUNTIME_ERROR_SIGFPE,
    signals.SIGABRT: Status.RUNTIME_ERROR_SIGABRT,
}


@dataclass(frozen=True)
class Stage:
    """A decoded harness report."""

    exit_code: int | None
    signal: int | None
    killed: str | None  # "wall", "cpu" or "output" when the harness killed it
    exec_errno: int | None
    cpu_time_s: float
    wall_time_s: float
    memory_kib: int
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    merged: bool = False  # stderr went into stdout (redirect_stderr_to_stdout)

    @classmethod
    def from_report(cls, report: Mapping[str, object]) -> Stage:
        return cls(
            exit_code=_opt_int(report.get("exit_code")),
            signal=_opt_int(report.get("signal")),
            killed=report.get("killed") if report.get("killed") in ("wall", "cpu", "output") else None,  # type: ignore[arg-type]
            exec_errno=_opt_int(report.get("errno")) if report.get("exec_error") else None,
            cpu_time_s=float(report.get("cpu_time_s") or 0.0),  # type: ignore[arg-type]
            wall_time_s=float(report.get("wall_time_s") or 0.0),  # type: ignore[arg-type]
            memory_kib=int(report.get("memory_kib") or 0),  # type: ignore[call-overload]
            stdout=base64.b64decode(str(report.get("stdout") or "")),
            stderr=base64.b64decode(str(report.get("stderr") or "")),
            stdout_truncated=bool(report.get("stdout_truncated")),
            stderr_truncated=bool(report.get("stderr_truncated")),
            merged=bool(report.get("merged")),
        )

    @property
    def clean_exit(self) -> bool:
        return self.exit_code == 0 and self.signal is None and self.killed is None and self.exec_errno is None


def run_status(stage: Stage, limits: Limits, language: Language) -> tuple[Status, str | None]:
    """Status of a run before its output is compared; ACCEPTED means "ran cleanly"."""
    diagnostics = stage.stdout if stage.merged else stage.stderr  # where the runtime's complaints went
    stderr = diagnostics.decode("utf-8", errors="replace")
    if stage.exec_errno is not None:
        if stage.exec_errno == errnos.ENOEXEC:
            return Status.EXEC_FORMAT_ERROR, "the program is not an executable format"
        built = bool(language.run) and language.run[0].startswith("./")  # a program the compile stage made
        if built and stage.exec_errno in (errnos.EACCES, errnos.ENOENT):  # as Judge0 has it: compile flags did it
            name = errnos.errorcode[stage.exec_errno]
            return Status.EXEC_FORMAT_ERROR, f"the compiled program cannot be executed ({name})"
        return (
            Status.INTERNAL_ERROR,
            f"could not start the program: {errnos.errorcode.get(stage.exec_errno, stage.exec_errno)}",
        )
    if stage.killed == "output":
        return Status.OUTPUT_LIMIT_EXCEEDED, f"output exceeded {limits.max_output_kib} KiB"
    if stage.killed == "cpu" or stage.cpu_time_s > limits.cpu_time_s or stage.signal == signals.SIGXCPU:
        return Status.TIME_LIMIT_EXCEEDED, f"CPU time exceeded {limits.cpu_time_s} s"
    if stage.killed == "wall":
        return Status.TIME_LIMIT_EXCEEDED, f"wall time exceeded {limits.wall_time_s} s"
    limit_kib = limits.memory_mb * 1024
    if stage.memory_kib > limit_kib:  # judged on the measured peak, whatever the exit
        return Status.MEMORY_LIMIT_EXCEEDED, f"memory exceeded {limits.memory_mb} MB"
    if stage.clean_exit:
        return Status.ACCEPTED, None
    if language.is_oom(stderr) or stage.memory_kib >= MLE_RSS_FRACTION * limit_kib:
        return Status.MEMORY_LIMIT_EXCEEDED, f"memory exceeded {limits.memory_mb} MB"
    if stage.signal is None and FILE_TOO_LARGE.search(stderr):
        return Status.RUNTIME_ERROR_SIGXFSZ, f"file size exceeded {limits.max_file_size_kib} KiB"
    if stage.signal is not None:
        status = SIGNAL_STATUS.get(stage.signal, Status.RUNTIME_ERROR_OTHER)
        return status, f"killed by {_signal_name(stage.signal)}"
    return Status.RUNTIME_ERROR_NZEC, f"exited with code {stage.exit_code}"


def judge_test(
    stage: Stage,
    expected: str | None,
    limits: Limits,
    language: Language,
    checker: CheckerSpec,
    display_cap_bytes: int,
) -> TestResult:
    status, message = run_status(stage, limits, language)
    if status is Status.ACCEPTED and expected is not None:
        actual = stage.stdout.decode("utf-8", errors="replace")
        if not check(checker, actual, expected):
            status = Status.WRONG_ANSWER
            message = "output differs from the expected output"
    return TestResult(
        status=status,
        time=stage.cpu_time_s,
        wall_time=stage.wall_time_s,
        memory=stage.memory_kib,
        exit_code=stage.exit_code,
        signal=stage.signal,
        stdout=Output.capture(stage.stdout, display_cap_bytes, stage.stdout_truncated),
        stderr=Output.capture(stage.stderr, display_cap_bytes, stage.stderr_truncated),
        message=message,
    )


def compile_status(stage: Stage, limits: Limits, language: Language) -> tuple[Status | None, str | None]:
    """None when compilation succeeded. A compiler that runs out of time or memory is a compile error too."""
    status, message = run_status(stage, limits, language)
    if status is Status.ACCEPTED:
        return None, None
    if status in (Status.INTERNAL_ERROR, Status.EXEC_FORMAT_ERROR):
        return Status.INTERNAL_ERROR, f"compiler: {message}"
    detail = "" if status.is_runtime_error else f" ({message})"
    return Status.COMPILATION_ERROR, f"compilation failed{detail}"


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _signal_name(number: int) -> str:
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"
