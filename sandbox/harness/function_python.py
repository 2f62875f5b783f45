"""KodeWar function-mode wrapper: python3 -I function_python.py SOURCE [NAME].

Runs inside the sandbox as the user's program. stdin holds the call's argument list in Python
syntax ("2", "1, [2, 3]", "x=1", ""); the function's return value goes to stdout as one line of
JSON. The user's own prints go to stderr so they cannot forge the result.
Standard library only; it must run on any Python 3 in the image.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import sys
import traceback
import types
from typing import NoReturn


def parse_arguments(text: str) -> tuple[list[object], dict[str, object]]:
    """Arguments as a call would take them: "_(" + text + ")" parsed, each one a literal."""
    if not text.strip():
        return [], {}
    call = ast.parse("_(\n" + text + "\n)", mode="eval").body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_"):
        raise ValueError("input is not an argument list")
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
        raise ValueError("input may not unpack arguments with * or **")
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
    return [ast.literal_eval(a) for a in call.args], kwargs


def json_key(key: object) -> str:
    """A dict key as json.dumps would write it; other keys (tuples...) by repr()."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return repr(key)


def jsonable(value: object) -> object:
    """JSON-shaped copy: tuples and sets become lists (sets sorted when possible), dict keys
    strings, any other object its repr()."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)  # type: ignore[type-var]
        except TypeError:
            return items
    if isinstance(value, dict):
        return {json_key(k): jsonable(v) for k, v in value.items()}
    return repr(value)


def report(exc: BaseException) -> NoReturn:
    """Print the user's traceback without this wrapper's frame; exit status 1."""
    tb = exc.__traceback__
    traceback.print_exception(type(exc), exc, tb.tb_next if tb else None)
    sys.exit(1)


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: function_python.py SOURCE [NAME]")
    source = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) == 3 else "solution"
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # big-integer answers are legitimate here

    try:
        args, kwargs = parse_arguments(sys.stdin.read())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as exc:
        sys.exit(f"function mode: the test input is not a Python argument list: {exc}")

    result_fd = os.dup(1)  # not inheritable: child processes of the user's code do not get it
    sys.stdout.flush()
    os.dup2(2, 1)  # the user's print() and os.write(1, ...) land on stderr

    module = types.ModuleType("solution")
    module.__file__ = os.path.abspath(source)
    sys.modules["solution"] = module  # dataclasses, pickle and friends look the module up here
    sys.argv = [source]
    try:
        with open(source, "rb") as handle:
            code = compile(handle.read(), source, "exec")
        exec(code, module.__dict__)
        function = module.__dict__.get(name)
        if not callable(function):
            sys.exit(f"function mode: {source} defines no function {name!r}")
        result = function(*args, **kwargs)
        if inspect.isawaitable(result):
            import asyncio

            async def wait() -> object:
                return await result

            result = asyncio.run(wait())
    except Exception as exc:
        report(exc)

    text = json.dumps(jsonable(result), ensure_ascii=False) + "\n"
    # Lone surrogates can only sit inside JSON strings, where "\udc80" is a valid escape.
    with open(result_fd, "w", encoding="utf-8", errors="backslashreplace") as out:
        out.write(text)


if __name__ == "__main__":
    main()
