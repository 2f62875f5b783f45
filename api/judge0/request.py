"""A Judge0 CE 1.13.1 submission request turned into a native submission body.

Judge0 validates every field and answers 422 with all of them (`{"field": ["message", ...]}`); so
does this, with Judge0's own messages where it has one. Units become native ones (KB -> MB, ...),
Judge0's `0 = unlimited` values become the maxima, and what Judge0 would have passed through bash
(compiler options, arguments) is split into argv entries after stripping the characters Judge0
strips. What the request said, resolved, is kept in the record (`compat.judge0`) so reads show it.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api.judge0.languages import Judge0Language
from sandbox.limits import MINIMA, LimitPolicy
from sandbox.submission import SizeCaps

MAX_OPTION_CHARS = 512  # compiler_options, command_line_arguments (Judge0's column validation)
DEFAULT_CPU_EXTRA_TIME_S = 1.0  # Judge0's CPU_EXTRA_TIME
SHELL_CHARACTERS = re.compile(r"[$&;<>|`]")  # what Judge0 deletes before its bash sees them
BASE64_NOISE = re.compile(r"[^A-Za-z0-9+/]")  # Ruby's Base64.decode64 skips everything else
RAILS_FALSE = frozenset({"0", "f", "false", "off"})
TEXT_FIELDS = ("source_code", "stdin", "expected_output")
COMPAT = "judge0"


class FieldErrors(Exception):
    """Judge0's 422 body: field -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class _Check:
    raw: Mapping[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, text: str) -> None:
        self.errors.setdefault(name, []).append(text)

    def present(self, name: str) -> bool:
        value = self.raw.get(name)
        return value is not None and value != ""

    def number(
        self, name: str, low: float, high: float, *, integer: bool = False, above: bool = False
    ) -> float | None:
        """A Rails numericality check: numbers or numeric strings within [low, high] (or (low, high])."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.add(name, "is not a number")
            return None
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            self.add(name, "is not a number")
            return None
        if not math.isfinite(number):
            self.add(name, "is not a number")
        elif integer and number != int(number):
            self.add(name, "must be an integer")
        elif above and number <= low:
            self.add(name, f"must be greater than {_show(low)}")
        elif not above and number < low:
            self.add(name, f"must be greater than or equal to {_show(low)}")
        elif number > high:
            self.add(name, f"must be less than or equal to {_show(high)}")
        else:
            return number
        return None

    def flag(self, name: str) -> bool | None:
        """Rails' boolean cast: blank is nil, "0"/"f"/"false"/"off" and 0 are false, the rest true."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() not in RAILS_FALSE

    def text(self, name: str, encoded: bool) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            self.add(name, "must be a string")
            return None
        if not encoded:
            return value
        try:
            return decode_base64(value).decode()
        except UnicodeDecodeError:
            self.add(name, "is not UTF-8 text once decoded from base64 (KodeWar stores text)")
        return None

    def words(self, name: str) -> list[str] | None:
        """compiler_options / command_line_arguments: a string Judge0 hands to bash, here argv entries."""
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            self.add(name, "must be a string")
            return None
        if len(value) > MAX_OPTION_CHARS:
            self.add(name, f"is too long (maximum is {MAX_OPTION_CHARS} characters)")
            return None
        try:
            return shlex.split(SHELL_CHARACTERS.sub("", value.strip()))
        except ValueError:
            self.add(name, "has an unbalanced quote")
        return None


def decode_base64(text: str) -> bytes:
    """As leniently as Judge0 (Ruby's decode64): line breaks and stray characters are skipped."""
    compact = BASE64_NOISE.sub("", text.split("=", 1)[0])
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):  # a lone trailing character: drop it as Ruby does
        return base64.b64decode(compact[: len(compact) // 4 * 4])


def translate(
    raw: object,
    *,
    encoded: bool,
    languages: Mapping[int, Judge0Language],
    policy: LimitPolicy,
    caps: SizeCaps,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(native body, what to store under compat.judge0), or FieldErrors naming every bad field."""
    if not isinstance(raw, Mapping):
        raise FieldErrors({"base": ["the request body must be a JSON object"]})
    check = _Check(raw)
    texts = {name: check.text(name, encoded) for name in TEXT_FIELDS}
    if not texts["source_code"] and "source_code" not in check.errors:
        check.add("source_code", "can't be blank")
    entry = _language(check, languages)
    maxima, defaults = policy.maxima, policy.defaults
    runs = check.number("number_of_runs", 0, caps.max_runs, integer=True, above=True)
    cpu = check.number("cpu_time_limit", 0, maxima.cpu_time_s)
    extra = check.number("cpu_extra_time", 0, maxima.cpu_extra_time_s)
    wall = check.number("wall_time_limit", max(1.0, MINIMA.wall_time_s), maxima.wall_time_s)
    memory_kb = check.number("memory_limit", max(2048, MINIMA.memory_mb * 1024), maxima.memory_mb * 1024, integer=True)
    stack_kb = check.number("stack_limit", 0, maxima.stack_mb * 1024, integer=True)
    processes = check.number("max_processes_and_or_threads", 0, maxima.max_processes, integer=True, above=True)
    file_cap_kb = min(maxima.max_file_size_kib, maxima.max_output_kib)
    file_kb = check.number("max_file_size", 0, file_cap_kb, integer=True)
    for name in ("enable_per_process_and_thread_time_limit", "enable_per_process_and_thread_memory_limit"):
        if check.flag(name):
            check.add(name, "this option cannot be enabled")
    if check.flag("enable_network"):
        check.add("enable_network", "enabling network is not allowed: KodeWar sandboxes never have a network")
    redirect = bool(check.flag("redirect_stderr_to_stdout"))
    options = check.words("compiler_options")
    if options and entry is not None and not entry.language.compiled:
        check.add("compiler_options", "setting compiler options is only allowed for compiled languages")
    arguments = check.words("command_line_arguments")
    callback = raw.get("callback_url") or None
    archive = raw.get("additional_files") or None
    if archive is not None and not isinstance(archive, str):
        check.add("additional_files", "must be a base64 string of a zip archive")
    if check.errors or entry is None:
        raise FieldErrors(check.errors)

    resolved = {  # Judge0 units; 0 means "unlimited" to Judge0 (isolate), so the maximum here
        "cpu_time_limit": _pick(cpu, defaults.cpu_time_s, maxima.cpu_time_s),
        "cpu_extra_time": _pick(extra, DEFAULT_CPU_EXTRA_TIME_S),
        "wall_time_limit": _pick(wall, defaults.wall_time_s),
        "memory_limit": int(_pick(memory_kb, defaults.memory_mb * 1024)),
        "stack_limit": int(_pick(stack_kb, defaults.stack_mb * 1024, maxima.stack_mb * 1024)),
        "max_processes_and_or_threads": int(_pick(processes, defaults.max_processes)),
        "max_file_size": int(_pick(file_kb, defaults.max_file_size_kib, file_cap_kb)),
    }
    native: dict[str, Any] = {
        "code": texts["source_code"],
        "language": entry.language.key,
        "mode": "stdio",
        "stdin": texts["stdin"] or "",
        "limits": {
            "cpu_time_s": float(resolved["cpu_time_limit"]),
            "cpu_extra_time_s": float(resolved["cpu_extra_time"]),
            "wall_time_s": float(resolved["wall_time_limit"]),
            "memory_mb": math.ceil(resolved["memory_limit"] / 1024),
            "stack_mb": max(1, math.ceil(resolved["stack_limit"] / 1024)),
            "max_processes": resolved["max_processes_and_or_threads"],
            "max_file_size_kib": resolved["max_file_size"],
            "max_output_kib": resolved["max_file_size"],  # Judge0's stdout is a file under the same cap
        },
    }
    optional = {
        "expected_output": texts["expected_output"],
        "number_of_runs": int(runs) if runs is not None else None,
        "redirect_stderr_to_stdout": redirect or None,
        "compiler_options": options or None,
        "args": arguments or None,
        "additional_files": archive,
        "callback_url": callback,
    }
    native.update({k: v for k, v in optional.items() if v is not None})
    compat = {
        "language_id": entry.id,
        **resolved,
        "number_of_runs": int(runs) if runs is not None else 1,
        "redirect_stderr_to_stdout": redirect,
        "compiler_options": raw.get("compiler_options") or None,
        "command_line_arguments": raw.get("command_line_arguments") or None,
    }
    return native, compat


def _language(check: _Check, languages: Mapping[int, Judge0Language]) -> Judge0Language | None:
    raw = check.raw.get("language_id")
    if raw is None or raw == "":
        check.add("language_id", "can't be blank")
        return None
    try:
        number = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        number = None
    entry = languages.get(number) if number is not None else None
    if entry is None:
        served = ", ".join(str(i) for i in sorted(languages))
        check.add("language_id", f"language with id {raw} doesn't exist (this server runs ids {served})")
    return entry


def _pick(value: float | None, default: float, unlimited: float | None = None) -> float:
    if value is None:
        return default
    if value == 0 and unlimited is not None:
        return unlimited
    return value


def _show(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# Native fields (as validation names them) -> the Judge0 field a client knows.
NATIVE_TO_JUDGE0 = {
    "code": "source_code",
    "language": "language_id",
    "stdin": "stdin",
    "test_cases[0].input": "stdin",
    "test_cases[0].expected": "expected_output",
    "test_cases": "stdin",
    "limits.cpu_time_s": "cpu_time_limit",
    "limits.cpu_extra_time_s": "cpu_extra_time",
    "limits.wall_time_s": "wall_time_limit",
    "limits.memory_mb": "memory_limit",
    "limits.stack_mb": "stack_limit",
    "limits.max_processes": "max_processes_and_or_threads",
    "limits.max_file_size_kib": "max_file_size",
    "limits.max_output_kib": "max_file_size",
    "args": "command_line_arguments",
    "compiler_options": "compiler_options",
    "additional_files": "additional_files",
    "number_of_runs": "number_of_runs",
    "redirect_stderr_to_stdout": "redirect_stderr_to_stdout",
    "callback_url": "callback_url",
}


def judge0_field(native_field: str) -> str:
    """The Judge0 name of a field a native validation error named ("submissions[2].code" -> source_code)."""
    name = re.sub(r"^submissions\[\d+\]\.", "", native_field)
    return NATIVE_TO_JUDGE0.get(name, "base")
