"""A validated submission: everything the runner needs, checked before anything runs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

from sandbox.archive import ArchiveError, read_archive
from sandbox.checkers import CheckerError, CheckerSpec
from sandbox.extras import ExtrasError, command_line_arguments, compiler_options
from sandbox.languages import Language
from sandbox.limits import LimitError, LimitPolicy, Limits
from sandbox.modes import ModeError, resolve_mode


class InvalidSubmission(ValueError):
    """Bad input from a client. ``field`` names the offending part so an API can answer 422 with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SizeCaps:
    max_code_bytes: int = 64 * 1024
    max_tests: int = 64
    max_test_input_bytes: int = 4 * 1024 * 1024
    max_total_input_bytes: int = 16 * 1024 * 1024  # inputs and expected outputs of all tests together
    max_runs: int = 20  # number_of_runs (Judge0's MAX_NUMBER_OF_RUNS)


@dataclass(frozen=True)
class TestCase:
    input: str = ""
    expected: str | None = None  # None: no comparison, a clean run is Accepted


@dataclass(frozen=True)
class Submission:
    code: str
    language: Language
    tests: tuple[TestCase, ...]
    limits: Limits
    mode: str = "stdio"
    checker: CheckerSpec = field(default_factory=CheckerSpec)
    function_name: str = "solution"
    args: tuple[str, ...] = ()  # appended to the run's argv
    compiler_options: tuple[str, ...] = ()  # inserted before the source in the compile argv
    files: tuple[tuple[str, bytes], ...] = ()  # additional files: (path under /box, content)
    redirect_stderr: bool = False  # the program's stderr goes to its stdout
    runs: int = 1  # runs of each test; the first that is not Accepted ends them


RESERVED_PREFIX = "_kodewar"  # names of files KodeWar itself places in the work dir
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")


def build_submission(
    raw: Mapping[str, object],
    registry: Mapping[str, Language],
    policy: LimitPolicy,
    caps: SizeCaps = SizeCaps(),
) -> Submission:
    """Validate a client's submission body (the API's and the CLI's shape); raises InvalidSubmission."""
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        raise InvalidSubmission("code", "must be a non-empty string")
    if _utf8_size(code, "code") > caps.max_code_bytes:
        raise InvalidSubmission("code", f"is over the {caps.max_code_bytes} byte cap")
    if "\x00" in code:
        raise InvalidSubmission("code", "must not contain NUL bytes")

    key = raw.get("language")
    if not isinstance(key, str) or key.lower() not in registry:
        raise InvalidSubmission("language", f"unknown language {key!r}; known: {', '.join(sorted(registry))}")
    language = registry[key.lower()]

    tests = _tests(raw, caps)
    try:
        limits = policy.resolve(_mapping(raw.get("limits"), "limits"))
        checker = CheckerSpec.from_dict(raw.get("checker"))  # type: ignore[arg-type]
    except LimitError as exc:
        raise InvalidSubmission(f"limits.{exc.field}", exc.message) from exc
    except CheckerError as exc:
        raise InvalidSubmission("checker", str(exc)) from exc

    function_name = raw.get("function_name", "solution")
    if not isinstance(function_name, str) or not _IDENTIFIER.fullmatch(function_name):
        raise InvalidSubmission("function_name", "must be an identifier")
    requested = raw.get("mode")
    if requested is not None and not isinstance(requested, str):
        raise InvalidSubmission("mode", "must be a string")
    try:
        mode = resolve_mode(requested, language, code)
    except ModeError as exc:
        raise InvalidSubmission("mode", str(exc)) from exc
    if mode == "function" and checker.kind == "default" and "checker" not in raw:
        checker = CheckerSpec(kind="value")
    return Submission(
        code=code,
        language=language,
        tests=tests,
        limits=limits,
        mode=mode,
        checker=checker,
        function_name=function_name,
        **_extras(raw, language, mode, caps),
    )


class _Extras(TypedDict):
    args: tuple[str, ...]
    compiler_options: tuple[str, ...]
    files: tuple[tuple[str, bytes], ...]
    redirect_stderr: bool
    runs: int


def _extras(raw: Mapping[str, object], language: Language, mode: str, caps: SizeCaps) -> _Extras:
    """The optional keys Judge0 and Piston clients need; absent, a submission runs as it always did."""
    try:
        args = command_line_arguments(raw.get("args"))
    except ExtrasError as exc:
        raise InvalidSubmission("args", str(exc)) from exc
    try:
        options = compiler_options(raw.get("compiler_options"))
    except ExtrasError as exc:
        raise InvalidSubmission("compiler_options", str(exc)) from exc
    if options and not language.compiled:
        raise InvalidSubmission(
            "compiler_options", f"{language.key} is not compiled: only compiled languages take them"
        )
    redirect = raw.get("redirect_stderr_to_stdout")
    if redirect is not None and not isinstance(redirect, bool):
        raise InvalidSubmission("redirect_stderr_to_stdout", "must be true or false")
    if mode == "function" and (args or redirect):
        key = "args" if args else "redirect_stderr_to_stdout"
        raise InvalidSubmission(key, "only stdio mode takes it: function mode owns the program's argv and stdout")
    runs = raw.get("number_of_runs")
    if runs is not None and (isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= caps.max_runs):
        raise InvalidSubmission("number_of_runs", f"must be a whole number from 1 to {caps.max_runs}")
    files: tuple[tuple[str, bytes], ...] = ()
    if raw.get("additional_files") is not None:
        try:
            files = read_archive(raw["additional_files"])
        except ArchiveError as exc:
            raise InvalidSubmission("additional_files", str(exc)) from exc
        # The source wins over an archive entry of the same name, as Judge0's `unzip -n` has it.
        files = tuple((name, data) for name, data in files if name != language.source)
        for name, _ in files:
            top = name.split("/")[0]
            if top.startswith(RESERVED_PREFIX):
                raise InvalidSubmission(
                    "additional_files", f"{name!r}: names starting {RESERVED_PREFIX!r} are reserved"
                )
            if top == language.source:
                raise InvalidSubmission("additional_files", f"{name!r}: {top!r} is the source file, not a directory")
    return {
        "args": args,
        "compiler_options": options,
        "files": files,
        "redirect_stderr": bool(redirect),
        "runs": 1 if runs is None else int(runs),
    }


def _mapping(value: object, name: str) -> Mapping[str, object] | None:
    if value is None or isinstance(value, Mapping):
        return value
    raise InvalidSubmission(name, "must be an object")


def _tests(raw: Mapping[str, object], caps: SizeCaps) -> tuple[TestCase, ...]:
    items = raw.get("test_cases")
    stdin = raw.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        raise InvalidSubmission("stdin", "must be a string")
    if items is None:
        items = [{"input": stdin or "", "expected": raw.get("expected_output")}]
    if not isinstance(items, list):
        raise InvalidSubmission("test_cases", "must be a list of {input, expected} objects")
    if not items:
        raise InvalidSubmission("test_cases", "must not be empty")
    if len(items) > caps.max_tests:
        raise InvalidSubmission("test_cases", f"{len(items)} tests is over the cap of {caps.max_tests}")
    tests: list[TestCase] = []
    total = 0
    for index, item in enumerate(items):
        where = f"test_cases[{index}]"
        if not isinstance(item, Mapping):
            raise InvalidSubmission(where, "must be an object with input and expected")
        unknown = set(item) - {"input", "expected", "expected_output"}
        if unknown:
            raise InvalidSubmission(where, f"unknown keys {sorted(unknown)}")
        text = item.get("input", stdin or "")
        expected = item.get("expected", item.get("expected_output"))
        text = _text(text, f"{where}.input")
        expected = None if expected is None else _text(expected, f"{where}.expected")
        size = _utf8_size(text, f"{where}.input")
        if size > caps.max_test_input_bytes:
            raise InvalidSubmission(f"{where}.input", f"is over the {caps.max_test_input_bytes} byte cap")
        total += size + len((expected or "").encode())  # already checked by _text
        if total > caps.max_total_input_bytes:
            raise InvalidSubmission("test_cases", f"inputs and outputs exceed {caps.max_total_input_bytes} bytes")
        tests.append(TestCase(input=text, expected=expected))
    return tuple(tests)


def _utf8_size(value: str, name: str) -> int:
    """Byte size, refusing text that is not valid Unicode (lone surrogates from JSON escapes)."""
    try:
        return len(value.encode())
    except UnicodeEncodeError as exc:
        raise InvalidSubmission(name, "is not valid Unicode text") from exc


def _text(value: object, name: str) -> str:
    """Accept strings, and numbers for convenience (`"expected": 4`); anything else is an error."""
    if isinstance(value, str):
        _utf8_size(value, name)
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InvalidSubmission(name, "must be a string")
