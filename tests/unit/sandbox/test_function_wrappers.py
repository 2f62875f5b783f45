"""Run the function-mode wrappers with the host's python3 and node, as the sandbox would."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.checkers import CheckerSpec, check
from sandbox.modes import HARNESS_DIR

TIMEOUT_S = 20
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not on PATH")


def run(tmp_path: Path, language: str, code: str, stdin: str, *name: str) -> subprocess.CompletedProcess[str]:
    if language == "python":
        source, wrapper, argv = "main.py", "function_python.py", [sys.executable, "-I"]
    else:
        source, wrapper, argv = "main.js", "function_javascript.js", [NODE or "node"]
    (tmp_path / source).write_text(code)
    shutil.copy(HARNESS_DIR / wrapper, tmp_path / wrapper)
    return subprocess.run(
        [*argv, wrapper, source, *name],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        check=False,
    )


LANGUAGES = ["python", pytest.param("javascript", marks=needs_node)]

TIMES_TWO = {"python": "def solution(x): return x * 2", "javascript": "function solution(x) { return x * 2; }"}
TIMES_THREE = {"python": "def solution(x):\n    return x * 3\n", "javascript": "const solution = (x) => x * 3;"}
NOISY = {
    "python": "import sys\ndef solution(x):\n    print('debug', x)\n    sys.stdout.write('more\\n')\n    return x\n",
    "javascript": "function solution(x) { console.log('debug', x); process.stdout.write('more\\n'); return x; }",
}
MANY_ARGS = {
    "python": "def solution(a, b, c):\n    return [a + sum(b), c.upper()]\n",
    "javascript": "function solution(a, b, c) { return [a + b.reduce((s, v) => s + v, 0), c.toUpperCase()]; }",
}
NO_ARGS = {"python": "def solution():\n    return None\n", "javascript": "function solution() {}"}
MISSING = {"python": "def solve(x): return x\n", "javascript": "function solve(x) { return x; }"}
RAISES = {
    "python": "def solution(x):\n    raise KeyError('boom')\n",
    "javascript": "function solution(x) { throw new RangeError('boom'); }",
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("codes", "stdin", "stdout"), [(TIMES_TWO, "2", "4"), (TIMES_THREE, "2\n", "6")])
def test_seed_example(tmp_path, language, codes, stdin, stdout):
    result = run(tmp_path, language, codes[language], stdin)
    assert (result.returncode, result.stdout, result.stderr) == (0, stdout + "\n", "")
    assert check(CheckerSpec("value"), result.stdout, stdout)


@pytest.mark.parametrize("language", LANGUAGES)
def test_user_output_goes_to_stderr(tmp_path, language):
    result = run(tmp_path, language, NOISY[language], "'a b'")
    assert result.returncode == 0
    assert result.stdout == '"a b"\n'
    assert "debug a b" in result.stderr
    assert "more" in result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_multiple_arguments(tmp_path, language):
    result = run(tmp_path, language, MANY_ARGS[language], "1, [2, 3], 'x y'")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [6, "X Y"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_empty_input_calls_without_arguments(tmp_path, language):
    result = run(tmp_path, language, NO_ARGS[language], "")
    assert (result.returncode, result.stdout) == (0, "null\n")


@pytest.mark.parametrize("language", LANGUAGES)
def test_missing_function_exits_1(tmp_path, language):
    result = run(tmp_path, language, MISSING[language], "2")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "defines no function 'solution'" in result.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_exception_gives_traceback_and_exit_1(tmp_path, language):
    result = run(tmp_path, language, RAISES[language], "2")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "boom" in result.stderr
    assert "main." in result.stderr  # the user's file and line are named


@pytest.mark.parametrize("language", LANGUAGES)
def test_custom_function_name(tmp_path, language):
    result = run(tmp_path, language, MISSING[language], "7", "solve")
    assert (result.returncode, result.stdout) == (0, "7\n")


def test_python_main_guard_does_not_run(tmp_path):
    code = 'def solution(x): return x\nif __name__ == "__main__":\n    raise SystemExit(3)\n'
    assert run(tmp_path, "python", code, "5").stdout == "5\n"


def test_python_literals_and_non_json_results(tmp_path):
    code = "def solution(t, s, flag, k=None):\n    return (t, {3, 1, 2}, s, flag, k, {(1, 2): 1j})\n"
    result = run(tmp_path, "python", code, "(1, 2), 'é', True, k=None")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [[1, 2], [1, 2, 3], "é", True, None, {"(1, 2)": "1j"}]


def test_python_async_and_big_int(tmp_path):
    code = "async def solution(n):\n    return 2 ** n\n"
    result = run(tmp_path, "python", code, "20000")
    assert result.returncode == 0, result.stderr
    digits = result.stdout.strip()  # past the host's int-string limit: check digits, not int()
    assert len(digits) == 6021
    assert digits.endswith(str(pow(2, 20000, 10**9)).zfill(9))


def test_python_rejects_input_that_is_not_an_argument_list(tmp_path):
    result = run(tmp_path, "python", TIMES_TWO["python"], "1), print(1")
    assert result.returncode == 1
    assert "not a Python argument list" in result.stderr


def test_python_syntax_error_is_reported(tmp_path):
    result = run(tmp_path, "python", "def solution(x) return x\n", "1")
    assert result.returncode == 1
    assert "SyntaxError" in result.stderr


@needs_node
def test_javascript_async_function(tmp_path):
    code = (
        "async function solution(a, b) {\n  await new Promise((r) => setTimeout(r, 5));\n  return { sum: a + b };\n}\n"
    )
    result = run(tmp_path, "javascript", code, "1, 2")
    assert (result.returncode, result.stdout) == (0, '{"sum":3}\n')


@needs_node
def test_javascript_module_exports_and_special_values(tmp_path):
    code = "module.exports = (x) => ({ big: 2n ** 70n, set: new Set([x]), map: new Map([['k', x]]), u: undefined });"
    result = run(tmp_path, "javascript", code, "[1]")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"big": 2**70, "set": [[1]], "map": {"k": [1]}}


@needs_node
def test_javascript_rejected_promise_and_leftover_timer(tmp_path):
    rejected = run(tmp_path, "javascript", "async function solution() { throw new Error('late'); }", "")
    assert (rejected.returncode, rejected.stdout) == (1, "")
    assert "late" in rejected.stderr
    timer = run(tmp_path, "javascript", "function solution() { setInterval(() => {}, 1000); return 1; }", "")
    assert (timer.returncode, timer.stdout) == (0, "1\n")


@needs_node
def test_javascript_promise_that_never_settles(tmp_path):
    result = run(tmp_path, "javascript", "function solution() { return new Promise(() => {}); }", "")
    assert (result.returncode, result.stdout) == (1, "")
    assert "never settled" in result.stderr
