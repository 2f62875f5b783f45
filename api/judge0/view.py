"""A stored submission as Judge0 CE 1.13.1 serializes it (SubmissionSerializer).

Judge0 has one stdin per submission, so its fields come from one test: the one that decided the
verdict (the first whose status is the submission's), which for a Judge0 submission is its only
test. Decimals are strings as Rails writes them ("0.012"), empty outputs are null, datetimes are
`2024-01-31T12:00:00.123Z`, and with base64_encoded the texts and `message` are base64 of the
bytes the program wrote (exact even when they are not UTF-8).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from actors.store import Record
from api.judge0 import statuses
from api.judge0.languages import Judge0Language, judge0_id
from api.judge0.request import COMPAT, DEFAULT_CPU_EXTRA_TIME_S
from api.service import COMPAT_KEY
from sandbox.languages import Language
from sandbox.limits import LimitError, LimitPolicy
from sandbox.statuses import Status

# SubmissionSerializer's attributes: the table's columns (but id) plus status and language.
ALL_FIELDS = (
    "source_code", "language_id", "stdin", "expected_output", "stdout", "status_id", "created_at",
    "finished_at", "time", "memory", "stderr", "token", "number_of_runs", "cpu_time_limit",
    "cpu_extra_time", "wall_time_limit", "memory_limit", "stack_limit", "max_processes_and_or_threads",
    "enable_per_process_and_thread_time_limit", "enable_per_process_and_thread_memory_limit",
    "max_file_size", "compile_output", "exit_code", "exit_signal", "message", "wall_time",
    "compiler_options", "command_line_arguments", "redirect_stderr_to_stdout", "callback_url",
    "additional_files", "enable_network", "status", "language",
)  # fmt: skip
DEFAULT_FIELDS = ("token", "time", "memory", "stdout", "stderr", "compile_output", "message", "status")
ENCODED_FIELDS = frozenset({"source_code", "stdin", "expected_output", "stdout", "stderr", "compile_output"})


class InvalidFields(ValueError):
    """`?fields=` named something Judge0 does not have (400 "invalid fields: [a, b]")."""


def requested_fields(param: str | None) -> tuple[str, ...]:
    names = [name.strip() for name in (param or "").split(",") if name.strip()]
    invalid = [name for name in names if name != "*" and name not in ALL_FIELDS]
    if invalid:
        raise InvalidFields(f"invalid fields: [{', '.join(invalid)}]")
    if "*" in names:
        return ALL_FIELDS
    return tuple(dict.fromkeys(names)) or DEFAULT_FIELDS


def timestamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def decimal(value: float | None) -> str | None:
    """Rails renders decimal columns as strings: 5 -> "5.0", 0.0123 -> "0.0123"."""
    if value is None:
        return None
    text = f"{float(value):.4f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def render(
    record: Record,
    fields: tuple[str, ...],
    *,
    encoded: bool,
    extended: bool,
    languages: Mapping[int, Judge0Language],
    registry: Mapping[str, Language],
    policy: LimitPolicy,
) -> dict[str, Any]:
    full = _all(record, extended, languages, registry, policy)
    view = {name: full[name] for name in fields}
    for name in ENCODED_FIELDS & set(view):
        value = view[name]
        view[name] = _text(value, encoded)
    if "message" in view and view["message"] is not None and encoded:
        view["message"] = base64.b64encode(view["message"].encode()).decode()
    return view


def _text(value: str | bytes | None, encoded: bool) -> str | None:
    if value is None or value in ("", b""):
        return None
    if encoded:
        return base64.b64encode(value if isinstance(value, bytes) else value.encode()).decode()
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _all(
    record: Record,
    extended: bool,
    languages: Mapping[int, Judge0Language],
    registry: Mapping[str, Language],
    policy: LimitPolicy,
) -> dict[str, Any]:
    body = record.body
    asked = _asked(body, registry, policy)
    language_id = asked["language_id"]
    entry = languages.get(language_id) if isinstance(language_id, int) else None
    result = record.result or {}
    test = _deciding_test(record.status, result)
    status = record.status
    message = test.get("message") if test else (result.get("message") if record.status.finished else None)
    if status in (Status.ACCEPTED, Status.WRONG_ANSWER):
        message = None  # isolate has nothing to say about a clean exit, so Judge0's message is null
    tests = body.get("test_cases")
    first = tests[0] if isinstance(tests, list) and tests and isinstance(tests[0], Mapping) else {}
    return {
        **asked,
        "source_code": body.get("code"),
        "stdin": first.get("input", body.get("stdin")),
        "expected_output": first.get("expected", first.get("expected_output", body.get("expected_output"))),
        "token": record.id,
        "status": statuses.status_dict(status, extended),
        "status_id": statuses.shown(status, extended).value,
        "language": {"id": language_id, "name": entry.name if entry else body.get("language")},
        "created_at": timestamp(record.created_at),
        "finished_at": timestamp(record.finished_at),
        "stdout": _output(test, "stdout"),
        "stderr": _output(test, "stderr"),
        "compile_output": _output(result, "compile_output") if result else None,
        "message": statuses.message(status, message, extended) if record.status.finished else None,
        "time": decimal(test.get("time")) if test else None,
        "wall_time": decimal(test.get("wall_time")) if test else None,
        "memory": int(test.get("memory") or 0) if test else None,
        "exit_code": _exit_code(test),
        "exit_signal": test.get("signal") if test else None,
        "callback_url": record.callback_url,
        "additional_files": body.get("additional_files") or None,
        "enable_network": False,
        "enable_per_process_and_thread_time_limit": False,
        "enable_per_process_and_thread_memory_limit": False,
    }


def _exit_code(test: Mapping[str, Any] | None) -> int | None:
    """isolate reports no exit code for a killed program and Judge0 then stores 0."""
    if test is None:
        return None
    code = test.get("exit_code")
    return 0 if code is None else int(code)


def _deciding_test(status: Status, result: Mapping[str, Any]) -> dict[str, Any] | None:
    ran = [t for t in result.get("tests") or [] if t.get("status", {}).get("id") != Status.SKIPPED]
    for test in ran:
        if test.get("status", {}).get("id") == int(status):
            return dict(test)
    return dict(ran[0]) if ran else None


def _output(source: Mapping[str, Any] | None, name: str) -> str | bytes | None:
    """The exact bytes when the text is lossy (`<name>_base64`), else the text."""
    if not source:
        return None
    raw = source.get(f"{name}_base64")
    if raw:
        return base64.b64decode(raw)
    return source.get(name)


def _asked(body: Mapping[str, Any], registry: Mapping[str, Language], policy: LimitPolicy) -> dict[str, Any]:
    """The request fields in Judge0's units: as stored by the Judge0 API, or derived from a native body."""
    stored = (body.get(COMPAT_KEY) or {}).get(COMPAT)
    if isinstance(stored, Mapping):
        asked = dict(stored)
    else:
        try:
            limits = policy.resolve(body.get("limits") if isinstance(body.get("limits"), Mapping) else None)
        except LimitError:
            limits = policy.defaults
        args, options = body.get("args"), body.get("compiler_options")
        asked = {
            "language_id": judge0_id(str(body.get("language", "")).lower(), registry),
            "cpu_time_limit": limits.cpu_time_s,
            "cpu_extra_time": limits.cpu_extra_time_s,
            "wall_time_limit": limits.wall_time_s,
            "memory_limit": limits.memory_mb * 1024,
            "stack_limit": limits.stack_mb * 1024,
            "max_processes_and_or_threads": limits.max_processes,
            "max_file_size": limits.max_file_size_kib,
            "number_of_runs": body.get("number_of_runs") or 1,
            "redirect_stderr_to_stdout": bool(body.get("redirect_stderr_to_stdout")),
            "compiler_options": " ".join(options) if isinstance(options, list) else None,
            "command_line_arguments": " ".join(args) if isinstance(args, list) else None,
        }
    for name in ("cpu_time_limit", "cpu_extra_time", "wall_time_limit"):
        asked[name] = decimal(asked.get(name, DEFAULT_CPU_EXTRA_TIME_S if name == "cpu_extra_time" else None))
    return asked
