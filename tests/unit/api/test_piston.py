"""The Piston v2 translation: version ranges, execute requests, the answer's shape and errors, on fakes."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import pytest

from api.piston.request import PistonError, translate
from api.piston.runtimes import find, runtimes
from api.piston.semver import parse_version, satisfies
from sandbox.limits import LimitPolicy
from sandbox.result import Output, Result
from sandbox.result import TestResult as RunResult
from sandbox.statuses import Status
from tests.unit.api.fakes import Harness, registry

RUNTIMES = runtimes(registry())


@pytest.mark.parametrize(
    ("spec", "matches"),
    [
        ("*", True),
        ("", True),
        ("x", True),
        ("3", True),
        ("3.x", True),
        ("3.11", True),
        ("3.11.2", True),
        ("=3.11.2", True),
        ("v3.11.2", True),
        ("3.11.3", False),
        ("3.10", False),
        (">=3.10", True),
        (">= 3.10 <3.11", False),
        (">3.10", True),
        (">3.11", False),
        ("<=3.11", True),
        ("<3.11", False),
        ("^3.0.0", True),
        ("^3.12", False),
        ("~3.11", True),
        ("~3.11.3", False),
        ("3.10 - 3.12", True),
        ("3.0 - 3.10", False),
        ("2 || 3", True),
        ("2.x || 4", False),
        ("not a range", False),
    ],
)
def test_version_ranges_as_node_semver_reads_them(spec: str, matches: bool) -> None:
    assert satisfies((3, 11, 2), spec) is matches


def test_caret_ranges_below_one() -> None:
    assert satisfies((0, 2, 5), "^0.2.3") and not satisfies((0, 3, 0), "^0.2.3")
    assert satisfies((0, 0, 3), "^0.0.3") and not satisfies((0, 0, 4), "^0.0.3")


def test_versions_come_from_the_registry_strings() -> None:
    assert parse_version("GCC 12.2.0 (C++17)") == (12, 2, 0)
    assert parse_version("OpenJDK 17.0.19") == (17, 0, 19)
    assert parse_version("3.11") == (3, 11, 0)


def test_runtimes_use_pistons_names_and_aliases() -> None:
    by_name = {r.language: r for r in RUNTIMES}
    assert by_name["c++"].registry_language.key == "cpp" and by_name["c++"].runtime == "gcc"
    assert find(RUNTIMES, "node", "18.x") is by_name["javascript"]
    assert find(RUNTIMES, "py3", "*") is by_name["python"]
    assert find(RUNTIMES, "python", "2.x") is None and find(RUNTIMES, "cobol", "*") is None


def execute(**raw: Any) -> Any:
    body = {"language": "python", "version": "*", "files": [{"content": "print(1)"}], **raw}
    return translate(body, RUNTIMES, LimitPolicy())


def unzip(text: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(text))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_request_becomes_a_native_stdio_body_with_pistons_defaults() -> None:
    execution = execute(stdin="x", args=["a", 2])
    assert execution.body == {
        "code": "print(1)",
        "language": "python",
        "mode": "stdio",
        "stdin": "x\n",  # Piston appends a newline
        "limits": {"wall_time_s": 3.0, "cpu_time_s": 3.0, "memory_mb": 512},
        "args": ["a", "2"],
    }
    assert execution.budget_s == 3.0 + 15.0


def test_the_first_utf8_file_is_the_program_and_the_rest_lie_beside_it() -> None:
    files = [
        {"name": "data.bin", "content": "AAE=", "encoding": "base64"},
        {"name": "app.c", "content": "int main(){}"},
        {"name": "util.c", "content": "int f;"},
        {"name": "inc/util.h", "content": "int g;"},
        {"name": "blob", "content": "ff00", "encoding": "hex"},
    ]
    execution = translate({"language": "gcc", "version": "12", "files": files}, RUNTIMES, LimitPolicy())
    assert execution.body["code"] == "int main(){}" and execution.body["language"] == "c"
    assert unzip(execution.body["additional_files"]) == {
        "data.bin": b"\x00\x01",
        "util.c": b"int f;",
        "inc/util.h": b"int g;",
        "blob": b"\xff\x00",
    }
    assert execution.body["compiler_options"] == ["util.c"]  # Piston's compile takes every code file


def test_limits_are_milliseconds_and_bytes() -> None:
    limits = execute(run_timeout=1500, run_cpu_time=1000, run_memory_limit=64 * 1024 * 1024, compile_timeout=5000).body[
        "limits"
    ]
    assert limits == {"wall_time_s": 1.5, "cpu_time_s": 1.0, "memory_mb": 64}
    assert execute(run_memory_limit=-1, run_timeout=0).body["limits"]["memory_mb"] == 512


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"language": 5}, "language is required as a string"),
        ({"version": None}, "version is required as a string"),
        ({"files": "x"}, "files is required as an array"),
        ({"files": [{"name": "a"}]}, "files[0].content is required as a string"),
        ({"language": "cobol"}, "cobol-* runtime is unknown"),
        ({"version": "9.x"}, "python-9.x runtime is unknown"),
        ({"files": [{"content": "AA==", "encoding": "base64"}]}, "files must include at least one utf8 encoded file"),
        ({"run_timeout": "fast"}, "If specified, run_timeout must be a number"),
        ({"run_timeout": 10**6}, "run_timeout cannot exceed the configured limit of 20000"),
        ({"compile_memory_limit": -5}, "compile_memory_limit must be non-negative"),
        ({"run_memory_limit": 1000}, "run_memory_limit must be at least 16777216 on this server"),
        ({"files": [{"content": "x"}, {"name": "../up", "content": "y"}]}, "tries to escape"),
        ({"files": [{"content": "x"}, {"name": "main.py", "content": "y"}]}, 'file name "main.py" is used twice'),
        ({"args": "a b"}, "args must be an array of strings"),
        ({"stdin": 5}, "stdin must be a string"),
    ],
)
def test_pistons_messages(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PistonError) as info:
        execute(**raw)
    assert str(info.value) == message or message in str(info.value)


def post(harness: Harness, body: dict[str, Any]) -> Any:
    return harness.client.simulate_post("/api/v2/execute", json=body, headers=harness.auth())


def worker_answers(harness: Harness, status: Status, result: dict[str, Any]) -> None:
    harness.dispatcher.worker = lambda sid: harness.store.finish(sid, status, result)


def test_execute_answers_with_the_finished_run(harness: Harness) -> None:
    test = RunResult(
        Status.ACCEPTED,
        time=0.012,
        wall_time=0.02,
        memory=9000,
        exit_code=0,
        stdout=Output("1\n"),
        stderr=Output("w\n"),
    )
    worker_answers(harness, Status.ACCEPTED, Result("python", (test,)).as_dict())
    response = post(harness, {"language": "python", "version": "3", "files": [{"content": "print(1)"}]})
    assert response.status_code == 200
    assert response.json == {
        "language": "python",
        "version": "3.11.2",
        "run": {
            "stdout": "1\n",
            "stderr": "w\n",
            "output": "1\nw\n",
            "code": 0,
            "signal": None,
            "message": None,
            "status": None,
            "memory": 9000 * 1024,
            "cpu_time": 12.0,
            "wall_time": 20.0,
        },
    }


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        (RunResult(Status.TIME_LIMIT_EXCEEDED, signal=9, message="wall time exceeded 3.0 s"), ("TO", "SIGKILL", None)),
        (RunResult(Status.RUNTIME_ERROR_SIGSEGV, signal=11), ("SG", "SIGSEGV", None)),
        (RunResult(Status.RUNTIME_ERROR_NZEC, exit_code=3), ("RE", None, 3)),
        (
            RunResult(Status.OUTPUT_LIMIT_EXCEEDED, signal=9, stdout=Output("x", truncated=True)),
            ("OL", "SIGKILL", None),
        ),
        (
            RunResult(Status.OUTPUT_LIMIT_EXCEEDED, signal=9, stderr=Output("x", truncated=True)),
            ("EL", "SIGKILL", None),
        ),
        (RunResult(Status.MEMORY_LIMIT_EXCEEDED, exit_code=1, message="memory exceeded 64 MB"), ("RE", None, 1)),
        (RunResult(Status.WRONG_ANSWER, exit_code=0), (None, None, 0)),
    ],
)
def test_run_stage_status_signal_and_code(harness: Harness, test: RunResult, expected: tuple[Any, ...]) -> None:
    worker_answers(harness, test.status, Result("python", (test,)).as_dict())
    run = post(harness, {"language": "py", "version": "*", "files": [{"content": "x"}]}).json["run"]
    assert (run["status"], run["signal"], run["code"]) == expected


def test_a_compile_error_is_the_run_stage_too(harness: Harness) -> None:
    result = Result(
        "c", (RunResult(Status.SKIPPED),), Output("main.c: error"), Status.COMPILATION_ERROR, "compilation failed"
    )
    worker_answers(harness, Status.COMPILATION_ERROR, result.as_dict())
    answer = post(harness, {"language": "c", "version": "*", "files": [{"content": "int main( {"}]}).json
    assert answer["compile"]["code"] == 1 and answer["compile"]["output"] == "main.c: error"
    assert answer["run"] == answer["compile"] and answer["compile"]["status"] == "RE"


def test_a_compiled_language_reports_a_clean_compile(harness: Harness) -> None:
    worker_answers(harness, Status.ACCEPTED, Result("c", (RunResult(Status.ACCEPTED, exit_code=0),)).as_dict())
    answer = post(harness, {"language": "c", "version": "*", "files": [{"content": "int main(){}"}]}).json
    assert (answer["compile"]["code"], answer["compile"]["status"]) == (0, None) and answer["run"]["code"] == 0


def test_a_run_still_pending_at_the_bound_is_a_504_naming_it(harness: Harness) -> None:
    response = post(harness, {"language": "py", "version": "*", "files": [{"content": "x"}]})
    assert response.status_code == 504 and "/api/v1/submissions/" in response.json["message"]


def test_error_bodies_are_pistons(harness: Harness) -> None:
    client = harness.client
    assert post(harness, {"language": "cobol", "version": "*", "files": []}).json == {
        "message": "cobol-* runtime is unknown"
    }
    anonymous = client.simulate_post("/api/v2/execute", json={})
    assert anonymous.status_code == 401 and set(anonymous.json) == {"message"}
    text = client.simulate_post("/api/v2/execute", body="x", headers={**harness.auth(), "Content-Type": "text/plain"})
    assert (text.status_code, text.json) == (415, {"message": "requests must be of type application/json"})
    harness.store.depth = harness.service.api.max_queue_depth
    full = post(harness, {"language": "py", "version": "*", "files": [{"content": "x"}]})
    assert full.status_code == 503 and "queue is full" in full.json["message"]
    harness.store.depth = 0
    empty = post(harness, {"language": "py", "version": "*", "files": [{"content": "  "}]})
    assert (empty.status_code, empty.json) == (400, {"message": "code: must be a non-empty string"})


def test_runtimes_are_public(harness: Harness) -> None:
    listed = harness.client.simulate_get("/api/v2/runtimes").json
    assert {"language": "python", "version": "3.11.2", "aliases": ["py", "py3", "python3"]} in listed
