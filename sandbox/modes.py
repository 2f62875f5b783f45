"""Run modes: ``stdio`` (the program reads stdin, writes stdout) and ``function`` (a wrapper calls
the function ``solution`` with each test's input as the argument list and prints the result)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sandbox.languages import FUNCTION_MODES, Language

MODES = ("stdio", "function")
FUNCTION_NAME = "solution"
HARNESS_DIR = Path(__file__).with_name("harness")
# Wrapper file per Language.function value; copied into the work dir next to the user's source.
FUNCTION_WRAPPERS = {"python": "function_python.py", "javascript": "function_javascript.js"}


class ModeError(ValueError):
    """A requested mode is unknown or not available for the language."""


def detect_mode(language_key: str, code: str, function_wrapper: str | None) -> str:
    """The mode for a request that names none: ``function`` when the language has a wrapper and
    the code defines a top-level ``solution`` without driving it itself, else ``stdio``.

    Code that also calls ``solution`` at top level or reads stdin is a stdio program that merely
    names its helper ``solution``; in function mode it would run on an empty stdin.
    """
    if function_wrapper == "python":
        return "function" if _python_defines_solution(code) else "stdio"
    if function_wrapper == "javascript":
        return "function" if _javascript_defines_solution(code) else "stdio"
    return "stdio"


def validate_mode(mode: str, language: Language) -> str:
    """Return ``mode`` if ``language`` can run in it; raise ModeError otherwise."""
    if mode not in MODES:
        raise ModeError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "function" and language.function not in FUNCTION_MODES:
        raise ModeError(f"language {language.key!r} does not support function mode")
    return mode


def resolve_mode(requested: str | None, language: Language, code: str) -> str:
    """The mode a submission runs in: the requested one (validated) or the detected one."""
    if requested is None:
        return detect_mode(language.key, code, language.function)
    return validate_mode(requested, language)


def function_wrapper_path(language: Language) -> Path:
    """The wrapper script to place next to the source in function mode."""
    if language.function is None:
        raise ModeError(f"language {language.key!r} does not support function mode")
    return HARNESS_DIR / FUNCTION_WRAPPERS[language.function]


def function_run_template(language: Language, name: str = FUNCTION_NAME) -> tuple[str, ...]:
    """The language's run argv with the wrapper in place of the source: the interpreter and its
    flags stay, e.g. ``python3 -I function_python.py {source} solution``."""
    wrapper = function_wrapper_path(language).name
    if "{source}" not in language.run:
        raise ModeError(f"language {language.key!r}: run has no {{source}} argument to wrap")
    at = language.run.index("{source}")
    return (*language.run[:at], wrapper, "{source}", name, *language.run[at + 1 :])


# --- Python -------------------------------------------------------------------------------------


def _python_defines_solution(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False  # run it as stdio so the interpreter reports the error the usual way
    defined = False
    for node in tree.body:
        if _is_main_guard(node):
            continue  # the wrapper imports the code under another name: this block never runs
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined = defined or node.name == FUNCTION_NAME
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _assigns_solution(node):
            defined = True
        elif not isinstance(node, ast.ClassDef) and any(map(_calls_solution, ast.walk(node))):
            return False
        if any(map(_reads_stdin, ast.walk(node))):
            return False
    return defined


def _assigns_solution(node: ast.Assign | ast.AnnAssign) -> bool:
    if isinstance(node, ast.AnnAssign):
        return node.value is not None and isinstance(node.target, ast.Name) and node.target.id == FUNCTION_NAME
    return any(isinstance(t, ast.Name) and t.id == FUNCTION_NAME for t in node.targets)


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` — skipped by the wrapper, which imports under another name."""
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _calls_solution(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == FUNCTION_NAME


def _reads_stdin(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "stdin" and isinstance(node.value, ast.Name) and node.value.id == "sys"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "input":
            return True
        if node.func.id == "open" and node.args and isinstance(node.args[0], ast.Constant):
            return node.args[0].value in (0, "/dev/stdin")
    return False


# --- JavaScript ---------------------------------------------------------------------------------
# No parser on the API host: line-anchored patterns. A definition must start its line (so a
# `// function solution(` comment does not count); a top-level call is an unindented line that
# calls solution and is not itself a definition (a one-line recursive definition stays one).

_JS_DEFINES = re.compile(
    r"^[ \t]*(?:async[ \t]+)?function[ \t]*\*?[ \t]*solution[ \t]*\("
    r"|^[ \t]*(?:const|let|var)[ \t]+solution[ \t]*="
    r"|^[ \t]*(?:module\.)?exports\.solution[ \t]*="
    r"|^[ \t]*module\.exports[ \t]*=[ \t]*\{[^}]*\bsolution\b",
    re.MULTILINE,
)
_JS_CALL = re.compile(r"(?<![\w$.])solution[ \t]*\(")
_JS_READS_STDIN = re.compile(r"\bprocess\.stdin\b|readFileSync\(\s*(?:0|['\"]/dev/stdin['\"])\s*[,)]")


def _javascript_defines_solution(code: str) -> bool:
    if not _JS_DEFINES.search(code) or _JS_READS_STDIN.search(code):
        return False
    for line in code.splitlines():
        if line[:1] not in ("", " ", "\t", "/", "*", "}") and not _JS_DEFINES.match(line) and _JS_CALL.search(line):
            return False
    return True
