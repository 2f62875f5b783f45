"""The verdict matrix against real Podman: every registered language, every verdict it can produce.

Each language's cases that share a source run as one submission (one container, one test per
case: the test's stdin picks the behaviour), so the matrix costs one container start per language
plus one for its compile error. The ``run`` fixture fails a test that leaves a container or a
sandbox process behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.languages import load_registry
from sandbox.result import Result
from sandbox.result import TestResult as Outcome  # not Test*: pytest would try to collect it
from sandbox.statuses import Status
from tests.integration.sandbox.programs import (
    CASES,
    COMPILE_ONCE,
    COMPILED,
    MATRIX_LIMITS,
    PROGRAMS,
    Run,
    expected_status,
)

REPO = Path(__file__).resolve().parents[3]
REGISTRY = load_registry()
LANGUAGES = sorted(REGISTRY)
COMPILED_LANGUAGES = [key for key in LANGUAGES if REGISTRY[key].compiled]
MANY_TESTS = 20


def test_every_registered_language_has_programs() -> None:
    missing = [key for key in LANGUAGES if key not in PROGRAMS]
    assert not missing, f"add programs for {missing} to tests/integration/sandbox/programs.py"
    not_compiled = [key for key in COMPILED if key in REGISTRY and not REGISTRY[key].compiled]
    assert not not_compiled, f"expected these languages to have a compile step: {not_compiled}"


def _run_matrix(run: Run, language: str) -> tuple[dict[str, Status], dict[str, Outcome], dict[str, Result]]:
    """Run every case of the language, grouped by source; returns statuses, per-test results, results."""
    groups: dict[str, list[str]] = {}
    for case, source in PROGRAMS[language].items():
        groups.setdefault(source, []).append(case)
    statuses: dict[str, Status] = {}
    tests: dict[str, Outcome] = {}
    results: dict[str, Result] = {}
    for source, cases in groups.items():
        result = run(language, source, tests=[CASES[c].test() for c in cases], limits=MATRIX_LIMITS, mode="stdio")
        for index, case in enumerate(cases):
            results[case] = result
            if result.compile_status is not None:
                statuses[case] = result.compile_status
            else:
                statuses[case] = result.tests[index].status
                tests[case] = result.tests[index]
    return statuses, tests, results


def _facts(case: str, test: Outcome | None, result: Result) -> list[str]:
    """What else must hold for a case beyond its status; returns the violations."""
    problems: list[str] = []
    wall_s = MATRIX_LIMITS["wall_time_s"]
    if case == "compile_error":
        if not result.compile_output.text.strip():
            problems.append("compile_error: empty compile_output")
        if any(t.status is not Status.SKIPPED for t in result.tests):
            problems.append("compile_error: tests ran after a failed compile")
        return problems
    assert test is not None
    if case in ("accepted", "wrong_answer") and test.stdout.text.strip() != "42":
        problems.append(f"{case}: stdout {test.stdout.text[:80]!r}, want '42'")
    # A busy loop ends at the CPU limit, or at the wall limit when other work shared the cores.
    # RLIMIT_CPU's SIGXCPU counts whole scheduler ticks, so under contention it can fire while the
    # precise rusage time reported is still up to ~10% under the limit.
    cpu_limited = test.signal == signal.SIGXCPU or test.time >= 0.9 * MATRIX_LIMITS["cpu_time_s"]
    if case == "tle_cpu" and not cpu_limited and test.wall_time < wall_s:
        problems.append(f"tle_cpu: stopped after {test.time} s CPU, {test.wall_time} s wall")
    if case == "tle_sleep" and (test.wall_time < wall_s or test.time > 0.5):
        problems.append(f"tle_sleep: wall {test.wall_time} s, cpu {test.time} s")
    if case == "ole" and not test.stdout.truncated:
        problems.append("ole: stdout not marked truncated")
    if case == "nzec" and test.exit_code != 3:
        problems.append(f"nzec: exit code {test.exit_code}, want 3")
    if test.status is Status.RUNTIME_ERROR_SIGSEGV and test.signal != signal.SIGSEGV:
        problems.append(f"{case}: SIGSEGV verdict with signal {test.signal}")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_verdict_matrix(run: Run, language: str) -> None:
    assert language in PROGRAMS, f"no programs for {language}"
    statuses, tests, results = _run_matrix(run, language)
    expected = {case: expected_status(language, case) for case in PROGRAMS[language]}
    got = {case: status.description for case, status in statuses.items()}
    want = {case: status.description for case, status in expected.items()}
    detail = {
        case: {
            "message": t.message,
            "exit": t.exit_code,
            "signal": t.signal,
            "time": t.time,
            "wall": t.wall_time,
            "kib": t.memory,
            "stderr": t.stderr.text[-300:],
        }
        for case, t in tests.items()
        if statuses[case] is not expected[case]
    }
    assert got == want, f"{language}: wrong verdicts; details of the mismatches: {json.dumps(detail, indent=1)}"
    problems = [p for case in PROGRAMS[language] for p in _facts(case, tests.get(case), results[case])]
    assert not problems, f"{language}: {problems}"


@pytest.mark.parametrize("language", COMPILED_LANGUAGES)
def test_many_tests_compile_once(run: Run, language: str) -> None:
    """20 tests share one compile and one container: the outputs count the runs in the container, the
    compiler's warning shows once, and the 20-test run costs about what a 1-test run costs beyond
    the tests themselves (twenty compiles would cost twenty times as much)."""
    program = COMPILE_ONCE[language]
    tests = [{"input": str(i), "expected": f"{2 * i} {i + 1}"} for i in range(MANY_TESTS)]
    limits = {"cpu_time_s": 2, "wall_time_s": 4, "memory_mb": 128}
    overheads_s = []
    for count in (1, MANY_TESTS):
        started = time.monotonic()
        result = run(language, program.source, tests=tests[:count], limits=limits)
        overheads_s.append(time.monotonic() - started - sum(t.wall_time for t in result.tests))
        assert result.status is Status.ACCEPTED, (result.compile_output.text, [t.stdout.text for t in result.tests])
        assert result.passed == count
    if program.marker is not None:
        warnings = re.findall(program.marker, result.compile_output.text)
        assert len(warnings) == 1, f"{len(warnings)} compiler warnings: {result.compile_output.text[:2000]}"
    single_s, many_s = overheads_s
    assert many_s < 2 * single_s + 1.0, f"20 tests cost {many_s:.2f} s beyond their runs, 1 test {single_s:.2f} s"


# --- the seed example, function mode, checkers ---------------------------------------------------


def test_seed_example_accepted(run: Run) -> None:
    result = run("python", "def solution(x): return x * 2", tests=[{"input": "2", "expected": "4"}])
    body = result.as_dict()
    assert body["status"] == {"id": 3, "description": "Accepted"}
    assert (body["passed"], body["total"]) == (1, 1)
    assert result.tests[0].stdout.text.strip() == "4"


def test_seed_example_wrong_answer_shows_output(run: Run) -> None:
    result = run("python", "def solution(x): return x * 3", tests=[{"input": "2", "expected": "4"}])
    assert result.status is Status.WRONG_ANSWER
    assert result.tests[0].stdout.text.strip() == "6"
    assert result.as_dict()["passed"] == 0


def test_seed_example_through_the_cli(tmp_path: Path) -> None:
    """`kodewar run --json` prints the result contract for the seed example."""
    source, tests = tmp_path / "solution.py", tmp_path / "tests.json"
    source.write_text("def solution(x): return x * 2\n")
    tests.write_text(json.dumps([{"input": "2", "expected": "4"}, {"input": "5", "expected": "11"}]))
    done = subprocess.run(
        [sys.executable, "-m", "kodewar.cli", "run", str(source), "-l", "python", "--tests", str(tests), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["status"]["id"] == Status.WRONG_ANSWER
    assert [t["status"]["id"] for t in body["tests"]] == [Status.ACCEPTED, Status.WRONG_ANSWER]
    assert body["tests"][1]["stdout"].strip() == "10"
    assert (body["passed"], body["total"], body["language"]) == (1, 2, "python")


def test_javascript_function_mode(run: Run) -> None:
    code = "function solution(values, factor) {\n  return values.map((v) => v * factor);\n}\n"
    tests = [
        {"input": "[1, 2], 3", "expected": "[3, 6]"},
        {"input": "[], 7", "expected": "[]"},
        {"input": "[1.5], 2", "expected": "[3.0]"},
        {"input": "[1], 2", "expected": "[3]"},
    ]
    result = run("javascript", code, tests=tests)
    statuses = [t.status for t in result.tests]
    assert statuses == [Status.ACCEPTED] * 3 + [Status.WRONG_ANSWER], [t.stderr.text for t in result.tests]
    seed = run("javascript", "function solution(x) { return x * 2; }", tests=[{"input": "2", "expected": "4"}])
    assert seed.status is Status.ACCEPTED


ECHO = "import sys\nsys.stdout.write(sys.stdin.read())\n"
CHECKER_CASES = [
    # (checker, [(program output, expected, status)])
    ("exact", [("1 2\n", "1 2\n", Status.ACCEPTED), ("1 2\n", "1 2", Status.WRONG_ANSWER)]),
    ("default", [("1 2  \n\n", "1 2", Status.ACCEPTED), ("1  2\n3", "1 2 3", Status.WRONG_ANSWER)]),
    ("tokens", [("1  2\n3 \n\n", "1 2 3", Status.ACCEPTED), ("1 2\n", "1 2 3", Status.WRONG_ANSWER)]),
    (
        {"kind": "float", "abs_tol": 1e-6, "rel_tol": 0},
        [("0.3333333333 x\n", "0.333333 x", Status.ACCEPTED), ("0.3334 x\n", "0.333333 x", Status.WRONG_ANSWER)],
    ),
]


@pytest.mark.parametrize(("checker", "cases"), CHECKER_CASES, ids=["exact", "default", "tokens", "float"])
def test_checkers(run: Run, checker: str | dict[str, Any], cases: list[tuple[str, str, Status]]) -> None:
    tests = [{"input": output, "expected": expected} for output, expected, _ in cases]
    result = run("python", ECHO, tests=tests, checker=checker)
    assert [t.status for t in result.tests] == [status for *_, status in cases]
