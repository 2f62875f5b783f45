import base64
import errno
import signal

import pytest

from sandbox.checkers import CheckerSpec
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.statuses import Status
from sandbox.verdict import Stage, compile_status, judge_test, run_status

PY = Language(
    key="python", name="Python", version="3.11", source="main.py", run=("python3",), oom_patterns=("MemoryError",)
)
LIMITS = Limits(cpu_time_s=1.0, wall_time_s=2.0, memory_mb=64)


def stage(**fields: object) -> Stage:
    report: dict[str, object] = {"exit_code": 0, "cpu_time_s": 0.01, "wall_time_s": 0.02, "memory_kib": 8000}
    for name in ("stdout", "stderr"):
        if name in fields:
            fields[name] = base64.b64encode(str(fields[name]).encode()).decode()
    report.update(fields)
    return Stage.from_report(report)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, Status.ACCEPTED),
        ({"exit_code": 1}, Status.RUNTIME_ERROR_NZEC),
        ({"exit_code": None, "signal": signal.SIGSEGV}, Status.RUNTIME_ERROR_SIGSEGV),
        ({"exit_code": None, "signal": signal.SIGFPE}, Status.RUNTIME_ERROR_SIGFPE),
        ({"exit_code": None, "signal": signal.SIGABRT}, Status.RUNTIME_ERROR_SIGABRT),
        ({"exit_code": None, "signal": signal.SIGXFSZ}, Status.RUNTIME_ERROR_SIGXFSZ),
        ({"exit_code": None, "signal": signal.SIGUSR1}, Status.RUNTIME_ERROR_OTHER),
        ({"exit_code": 1, "stderr": "OSError: [Errno 27] File too large"}, Status.RUNTIME_ERROR_SIGXFSZ),
        ({"exit_code": None, "signal": signal.SIGKILL, "killed": "wall"}, Status.TIME_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": signal.SIGKILL, "killed": "cpu"}, Status.TIME_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": signal.SIGXCPU}, Status.TIME_LIMIT_EXCEEDED),
        ({"cpu_time_s": 1.5}, Status.TIME_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": signal.SIGKILL, "killed": "output"}, Status.OUTPUT_LIMIT_EXCEEDED),
        ({"exit_code": 1, "stderr": "Traceback...\nMemoryError"}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exit_code": None, "signal": signal.SIGSEGV, "memory_kib": 63 * 1024}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exit_code": 0, "memory_kib": 65 * 1024}, Status.MEMORY_LIMIT_EXCEEDED),
        ({"exec_error": "Exec format error", "errno": errno.ENOEXEC}, Status.EXEC_FORMAT_ERROR),
        ({"exec_error": "No such file", "errno": errno.ENOENT}, Status.INTERNAL_ERROR),
    ],
)
def test_run_status(fields: dict[str, object], status: Status) -> None:
    assert run_status(stage(**fields), LIMITS, PY)[0] is status


def test_output_limit_beats_time_when_the_harness_killed_for_output() -> None:
    flood = stage(exit_code=None, signal=signal.SIGKILL, killed="output", cpu_time_s=5.0)
    assert run_status(flood, LIMITS, PY)[0] is Status.OUTPUT_LIMIT_EXCEEDED


def test_judging_compares_output_only_after_a_clean_run() -> None:
    spec, cap = CheckerSpec(), 1024
    assert judge_test(stage(stdout="4\n"), "4", LIMITS, PY, spec, cap).status is Status.ACCEPTED
    wrong = judge_test(stage(stdout="6\n"), "4", LIMITS, PY, spec, cap)
    assert wrong.status is Status.WRONG_ANSWER and wrong.stdout.text == "6\n"
    assert judge_test(stage(stdout="4\n", exit_code=3), "4", LIMITS, PY, spec, cap).status is Status.RUNTIME_ERROR_NZEC
    assert judge_test(stage(stdout="anything"), None, LIMITS, PY, spec, cap).status is Status.ACCEPTED


def test_displayed_output_is_capped_and_flagged() -> None:
    result = judge_test(stage(stdout="x" * 100), None, LIMITS, PY, CheckerSpec(), 10)
    assert result.stdout.text == "x" * 10 and result.stdout.truncated


def test_a_failing_compiler_is_a_compilation_error() -> None:
    assert compile_status(stage(), LIMITS, PY) == (None, None)
    assert compile_status(stage(exit_code=1), LIMITS, PY)[0] is Status.COMPILATION_ERROR
    timed_out = compile_status(stage(exit_code=None, signal=9, killed="wall"), LIMITS, PY)
    assert timed_out[0] is Status.COMPILATION_ERROR and "wall time" in (timed_out[1] or "")
    missing = compile_status(stage(exec_error="x", errno=errno.ENOENT), LIMITS, PY)
    assert missing[0] is Status.INTERNAL_ERROR
