"""Piston v2's API in plain HTTP, with requests shaped as Piston's documentation shows them
(docs/api-v2.md): runtimes, the documented JavaScript example, multi-file programs, arguments,
stdin, a compile error and a timeout. Execute answers synchronously."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from kodewar.stack import LocalStack
from tests.integration.compat import programs as p

TIMEOUT_S = 90
STAGE_KEYS = {"stdout", "stderr", "output", "code", "signal", "message", "status", "memory", "cpu_time", "wall_time"}
DOCS_EXAMPLE = {
    "language": "js",
    "version": "15.10.0",
    "files": [{"name": "my_cool_code.js", "content": "console.log(process.argv)"}],
    "stdin": "",
    "args": ["1", "2", "3"],
    "compile_timeout": 10000,
    "run_timeout": 3000,
    "compile_memory_limit": -1,
    "run_memory_limit": -1,
}
C_MAIN = """#include <stdio.h>
#include "util.h"
int main(int argc, char **argv) {
    char name[64];
    if (scanf("%63s", name) != 1) return 2;
    printf("%s: %d args, twice 21 is %d\\n", name, argc - 1, twice(21));
    for (int i = 1; i < argc; i++) printf("%s\\n", argv[i]);
    return 0;
}
"""
C_UTIL = '#include "util.h"\nint twice(int x) { return 2 * x; }\n'
C_UTIL_H = "int twice(int x);\n"


@pytest.fixture(scope="module")
def execute(stack: LocalStack, token: str) -> Any:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def call(body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
        response = session.post(f"{stack.url}/api/v2/execute", json=body, timeout=TIMEOUT_S)
        assert response.status_code == expect, response.text
        return dict(response.json())

    return call


def test_runtimes_list_languages_versions_and_aliases(stack: LocalStack) -> None:
    runtimes = requests.get(f"{stack.url}/api/v2/runtimes", timeout=10).json()
    by_name = {runtime["language"]: runtime for runtime in runtimes}
    assert {"python", "c", "c++", "javascript"} <= set(by_name)
    assert "js" in by_name["javascript"]["aliases"] and by_name["javascript"]["runtime"] == "node"
    assert "runtime" not in by_name["python"]
    for runtime in runtimes:
        assert set(runtime) <= {"language", "version", "aliases", "runtime"}
        assert len(runtime["version"].split(".")) == 3


def test_the_documented_example(execute: Any, stack: LocalStack) -> None:
    """Verbatim, it names Piston's own node version, which is not here: Piston's 400 for that."""
    assert execute(DOCS_EXAMPLE, expect=400) == {"message": "js-15.10.0 runtime is unknown"}
    node = next(
        r for r in requests.get(f"{stack.url}/api/v2/runtimes", timeout=10).json() if r["language"] == "javascript"
    )
    answer = execute({**DOCS_EXAMPLE, "version": node["version"].split(".")[0] + ".x"})
    assert (answer["language"], answer["version"]) == ("javascript", node["version"])
    run = answer["run"]
    assert set(run) == STAGE_KEYS and "compile" not in answer
    assert run["code"] == 0 and run["signal"] is None and run["stderr"] == ""
    assert run["stdout"].endswith("main.js', '1', '2', '3' ]\n") and run["output"] == run["stdout"]


def test_a_multi_file_c_program_with_args_and_stdin(execute: Any) -> None:
    answer = execute(
        {
            "language": "c",
            "version": "*",
            "files": [
                {"name": "main.c", "content": C_MAIN},
                {"name": "util.c", "content": C_UTIL},
                {"name": "util.h", "content": C_UTIL_H},
            ],
            "stdin": "kodewar",
            "args": ["first arg", "--second"],
        }
    )
    assert answer["compile"]["code"] == 0 and answer["compile"]["status"] is None
    assert answer["run"]["stdout"] == "kodewar: 2 args, twice 21 is 42\nfirst arg\n--second\n", answer
    assert answer["run"]["code"] == 0 and answer["run"]["memory"] > 0 and answer["run"]["wall_time"] >= 0


def test_extra_files_in_every_encoding(execute: Any) -> None:
    code = (
        "import sys\nprint(open('a.txt').read(), open('b.bin', 'rb').read(), open('c.bin', 'rb').read(), sys.argv[1:])"
    )
    answer = execute(
        {
            "language": "python",
            "version": "3.x",
            "files": [
                {"name": "solution.py", "content": code},
                {"name": "a.txt", "content": "text"},
                {"name": "b.bin", "content": base64.b64encode(b"\x00\xff").decode(), "encoding": "base64"},
                {"name": "c.bin", "content": "cafe", "encoding": "hex"},
            ],
            "args": ["x"],
        }
    )
    assert answer["run"]["stdout"] == "text b'\\x00\\xff' b'\\xca\\xfe' ['x']\n", answer


def test_stdin_gets_a_trailing_newline_as_in_piston(execute: Any) -> None:
    answer = execute(
        {
            "language": "py",
            "version": "*",
            "files": [{"content": "import sys\nprint(repr(sys.stdin.read()))"}],
            "stdin": "a\nb",
        }
    )
    assert answer["run"]["stdout"] == "'a\\nb\\n'\n"


def test_a_compile_error_is_also_the_run_stage(execute: Any) -> None:
    answer = execute({"language": "c++", "version": "*", "files": [{"name": "x.cpp", "content": "int main( {"}]})
    compile_stage = answer["compile"]
    assert compile_stage["code"] != 0 and compile_stage["status"] == "RE"
    assert "error" in compile_stage["stderr"] and compile_stage["output"] == compile_stage["stderr"]
    assert answer["run"] == compile_stage


def test_a_timeout(execute: Any) -> None:
    answer = execute({"language": "python", "version": "*", "files": [{"content": p.PY_SPIN}], "run_timeout": 1000})
    run = answer["run"]
    assert (run["status"], run["signal"], run["code"]) == ("TO", "SIGKILL", None), run
    assert 900 <= run["wall_time"] < 3000


def test_a_failing_program_reports_its_code_or_signal(execute: Any) -> None:
    exit_3 = execute({"language": "python", "version": "*", "files": [{"content": p.PY_EXIT_3}]})["run"]
    assert (exit_3["code"], exit_3["signal"], exit_3["status"]) == (3, None, "RE")
    segv = execute({"language": "c", "version": "*", "files": [{"content": p.C_SEGV}]})["run"]
    assert (segv["code"], segv["signal"], segv["status"]) == (None, "SIGSEGV", "SG")


def test_piston_error_messages(execute: Any, stack: LocalStack) -> None:
    assert execute({"version": "*", "files": []}, expect=400) == {"message": "language is required as a string"}
    assert execute({"language": "python", "files": []}, expect=400) == {"message": "version is required as a string"}
    no_files = {"language": "python", "version": "*"}
    assert execute(no_files, expect=400) == {"message": "files is required as an array"}
    binary_only = {**no_files, "files": [{"content": "AA==", "encoding": "base64"}]}
    assert execute(binary_only, expect=400) == {"message": "files must include at least one utf8 encoded file"}
    too_long = {**no_files, "files": [{"content": "print(1)"}], "run_timeout": 10**6}
    assert execute(too_long, expect=400)["message"].startswith("run_timeout cannot exceed the configured limit of")
    escape = {**no_files, "files": [{"content": "print(1)"}, {"name": "../x", "content": "y"}]}
    assert "escape" in execute(escape, expect=400)["message"]
    anonymous = requests.post(f"{stack.url}/api/v2/execute", json={**no_files, "files": [{"content": "1"}]}, timeout=10)
    assert anonymous.status_code == 401 and "message" in anonymous.json()
