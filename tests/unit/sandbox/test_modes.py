import pytest

from sandbox.languages import Language
from sandbox.modes import (
    MODES,
    ModeError,
    detect_mode,
    function_run_template,
    function_wrapper_path,
    resolve_mode,
    validate_mode,
)

PYTHON = Language("python", "Python", "3.11", "main.py", ("python3", "-I", "{source}"), function="python")
NODE = Language(
    "javascript", "JavaScript", "20", "main.js", ("node", "--stack-size=65500", "{source}"), function="javascript"
)
C = Language("c", "C", "12", "main.c", ("./a.out",), compile=("gcc", "{source}"), exec_box=True)


@pytest.mark.parametrize(
    ("code", "mode"),
    [
        ("def solution(x): return x * 2", "function"),  # the seed's own example
        ("async def solution(x):\n    return x\n", "function"),
        ("solution = lambda x: x * 3\n", "function"),
        ("solution: object = max\n", "function"),
        ("import math\n\ndef helper(): pass\n\ndef solution(a, b):\n    return helper()\n", "function"),
        ("def solution(n):\n    return solution(n - 1) if n else 0\n", "function"),  # recursion is fine
        ('def solution(x): return x\nif __name__ == "__main__":\n    print(solution(int(input())))\n', "function"),
        ("print(int(input()) * 2)\n", "stdio"),
        ("def main(): pass\n", "stdio"),
        ("def solve(x): return x\n", "stdio"),
        ("class solution:\n    pass\n", "stdio"),
        ("def outer():\n    def solution(): pass\n", "stdio"),  # not top level
        ("def solution(x) return x\n", "stdio"),  # SyntaxError: reported by the normal run
        ("def solution(): pass\x00", "stdio"),
        ("def solution():\n    n = int(input())\n    print(n)\nsolution()\n", "stdio"),  # drives itself
        ("def solution(x): return x\nprint(solution(2))\n", "stdio"),
        ("import sys\ndef solution():\n    return sys.stdin.read()\n", "stdio"),  # reads stdin
        ("def solution():\n    return open(0).read()\n", "stdio"),
        ("", "stdio"),
    ],
)
def test_detect_python(code, mode):
    assert detect_mode("python", code, "python") == mode


@pytest.mark.parametrize(
    ("code", "mode"),
    [
        ("function solution(x) { return x * 2; }", "function"),
        ("async function solution(x) {\n  return x;\n}\n", "function"),
        ("const solution = (x) => x * 2;\n", "function"),
        ("let solution = function (x) { return x; };\n", "function"),
        ("var solution=x=>x\n", "function"),
        ("module.exports.solution = (x) => x;\n", "function"),
        ("exports.solution = (x) => x;\n", "function"),
        ("const f = (x) => x;\nmodule.exports = { solution: f };\n", "function"),
        ("function solution(n) {\n  return n ? solution(n - 1) : 0;\n}\n", "function"),
        ("const solution = (n) => (n ? solution(n - 1) : 0);\n", "function"),
        ("console.log(42);\n", "stdio"),
        ("// function solution(x) {}\nconsole.log(1);\n", "stdio"),
        ("function solve(x) { return x; }\n", "stdio"),
        ("function solution() {}\nsolution();\n", "stdio"),
        ("function solution(x) { return x; }\nconsole.log(solution(2));\n", "stdio"),
        ("function solution() {\n  return require('fs').readFileSync(0, 'utf8');\n}\n", "stdio"),
        ("process.stdin.on('data', () => {});\nfunction solution() {}\n", "stdio"),
    ],
)
def test_detect_javascript(code, mode):
    assert detect_mode("javascript", code, "javascript") == mode


@pytest.mark.parametrize("wrapper", [None, "ruby"])
def test_detect_without_a_wrapper_is_stdio(wrapper):
    assert detect_mode("c", "int solution(int x) { return x; }", wrapper) == "stdio"
    assert detect_mode("python", "def solution(x): return x", wrapper) == "stdio"


@pytest.mark.parametrize("mode", MODES)
def test_validate_accepts(mode):
    assert validate_mode(mode, PYTHON) == mode


def test_validate_rejects_function_mode_for_languages_without_a_wrapper():
    assert validate_mode("stdio", C) == "stdio"
    with pytest.raises(ModeError, match="'c' does not support function mode"):
        validate_mode("function", C)


@pytest.mark.parametrize("mode", ["", "Function", "interactive"])
def test_validate_rejects_unknown_modes(mode):
    with pytest.raises(ValueError, match="mode must be one of stdio, function"):
        validate_mode(mode, PYTHON)


def test_resolve():
    assert resolve_mode(None, PYTHON, "def solution(x): return x") == "function"
    assert resolve_mode("stdio", PYTHON, "def solution(x): return x") == "stdio"
    assert resolve_mode(None, C, "int main() {}") == "stdio"
    with pytest.raises(ModeError):
        resolve_mode("function", C, "")


def test_function_run_template_keeps_interpreter_flags():
    assert function_run_template(PYTHON) == ("python3", "-I", "function_python.py", "{source}", "solution")
    assert function_run_template(NODE, "f") == ("node", "--stack-size=65500", "function_javascript.js", "{source}", "f")
    assert function_wrapper_path(PYTHON).is_file()
    assert function_wrapper_path(NODE).is_file()
    with pytest.raises(ModeError):
        function_run_template(C)
