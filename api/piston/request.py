"""A Piston v2 execute request turned into a native submission body.

Checks run in Piston's order with Piston's messages (api/src/api/v2.js). The first UTF-8 file is
the program (Piston runs `code_files[0]`); every other file is written beside it through the native
`additional_files`, and for C, C++ and Go the other UTF-8 sources are compiled in too, as Piston's
compile scripts take every code file. Piston's limits are milliseconds and bytes; a request may only
lower them. Compile limits are checked but KodeWar compiles at its fixed compile limits.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.compat import zip_base64
from api.piston.runtimes import Runtime, find
from sandbox.archive import ArchiveError, entry_path
from sandbox.limits import MINIMA, LimitPolicy

RUN_TIMEOUT_MS = 3000  # Piston's run_timeout and run_cpu_time defaults
RUN_CPU_TIME_MS = 3000
MIB = 1024 * 1024
ENCODINGS = ("base64", "hex", "utf8")
COMPILED_TOGETHER = {"c": (".c",), "cpp": (".cpp", ".cc", ".cxx", ".c++"), "go": (".go",)}
QUEUE_GRACE_S = 15.0  # beyond the stages' wall limits: queueing and container start


class PistonError(Exception):
    """A 400 with Piston's `{"message": ...}` body."""


@dataclass(frozen=True)
class Execution:
    body: dict[str, Any]
    runtime: Runtime
    budget_s: float  # how long execute waits for the result


def translate(raw: object, available: list[Runtime], policy: LimitPolicy) -> Execution:
    if not isinstance(raw, Mapping):
        raise PistonError("language is required as a string")
    language, version, files = raw.get("language"), raw.get("version"), raw.get("files")
    if not language or not isinstance(language, str):
        raise PistonError("language is required as a string")
    if not version or not isinstance(version, str):
        raise PistonError("version is required as a string")
    if not isinstance(files, list):
        raise PistonError("files is required as an array")
    for i, file in enumerate(files):
        if not isinstance(file, Mapping) or not isinstance(file.get("content"), str):
            raise PistonError(f"files[{i}].content is required as a string")
    runtime = find(available, language, version)
    if runtime is None:
        raise PistonError(f"{language}-{version} runtime is unknown")
    decoded = [_file(i, file) for i, file in enumerate(files)]
    main_index = next((i for i, (_, _, text) in enumerate(decoded) if text), None)
    if main_index is None:
        raise PistonError("files must include at least one utf8 encoded file")
    limits = _limits(raw, policy)
    language_key = runtime.registry_language.key
    source = runtime.registry_language.source
    main = decoded[main_index][1]
    others = [(name, data, text) for i, (name, data, text) in enumerate(decoded) if i != main_index]
    names = [source] + [name for name, _, _ in others]
    for name in names[1:]:
        if names.count(name) > 1:
            raise PistonError(f'file name "{name}" is used twice (the first utf8 file is written as "{source}")')
    suffixes = COMPILED_TOGETHER.get(language_key, ())
    together = [name for name, _, text in others if text and suffixes and name.endswith(suffixes)]
    for name in together:
        if name.startswith("-"):
            raise PistonError(f'file name "{name}" must not start with "-"')
    stdin = raw.get("stdin")
    if stdin is None:
        stdin = ""
    if not isinstance(stdin, str):
        raise PistonError("stdin must be a string")
    if not stdin.endswith("\n"):
        stdin += "\n"  # Piston adds a trailing newline
    args = raw.get("args")
    if args is None:
        args = []
    if not isinstance(args, list) or any(isinstance(a, bool) or not isinstance(a, str | int | float) for a in args):
        raise PistonError("args must be an array of strings")
    body: dict[str, Any] = {
        "code": main.decode(),
        "language": language_key,
        "mode": "stdio",
        "stdin": stdin,
        "limits": limits,
    }
    if args:
        body["args"] = [str(a) for a in args]
    if others:
        body["additional_files"] = zip_base64((name, data) for name, data, _ in others)
    if together:
        body["compiler_options"] = together
    compile_s = policy.compile.wall_time_s if runtime.registry_language.compiled else 0.0
    return Execution(body, runtime, compile_s + limits["wall_time_s"] + QUEUE_GRACE_S)


def _file(index: int, file: Mapping[str, Any]) -> tuple[str, bytes, bool]:
    """(name, content, is code): Piston treats an unknown encoding as utf8 and names a nameless file."""
    encoding = file.get("encoding") if file.get("encoding") in ENCODINGS else "utf8"
    name = file.get("name") or f"file{index}.code"
    if not isinstance(name, str):
        raise PistonError(f"files[{index}].name must be a string")
    try:
        path = entry_path(name[2:] if name.startswith("./") else name)
    except ArchiveError as exc:
        raise PistonError(f'File path "{name}" tries to escape parent directory or is not allowed: {exc}') from exc
    content: str = file["content"]
    try:
        if encoding == "base64":
            data = base64.b64decode(content, validate=False)
        elif encoding == "hex":
            data = bytes.fromhex(content)
        else:
            data = content.encode()
    except (binascii.Error, ValueError) as exc:
        raise PistonError(f"files[{index}].content is not valid {encoding}") from exc
    return path, data, encoding == "utf8"


def _limits(raw: Mapping[str, Any], policy: LimitPolicy) -> dict[str, Any]:
    """Piston's checks for each stage's memory_limit, timeout and cpu_time, then native run limits."""
    maxima, compile_limits = policy.maxima, policy.compile
    configured = {
        "compile_memory_limit": compile_limits.memory_mb * MIB,
        "run_memory_limit": maxima.memory_mb * MIB,
        "compile_timeout": int(compile_limits.wall_time_s * 1000),
        "run_timeout": int(maxima.wall_time_s * 1000),
        "compile_cpu_time": int(compile_limits.cpu_time_s * 1000),
        "run_cpu_time": int(maxima.cpu_time_s * 1000),
    }
    given: dict[str, float] = {}
    for constraint in ("memory_limit", "timeout", "cpu_time"):
        for stage in ("compile", "run"):
            name = f"{stage}_{constraint}"
            value = raw.get(name)
            if not value:  # Piston skips falsy values: 0, null, ""
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise PistonError(f"If specified, {name} must be a number")
            if constraint == "memory_limit" and value == -1:
                continue  # "no limit": the maximum here
            if value > configured[name]:
                raise PistonError(f"{name} cannot exceed the configured limit of {configured[name]}")
            if value < 0:
                raise PistonError(f"{name} must be non-negative")
            given[name] = float(value)
    floors = {
        "run_timeout": MINIMA.wall_time_s * 1000,
        "run_cpu_time": MINIMA.cpu_time_s * 1000,
        "run_memory_limit": MINIMA.memory_mb * MIB,
    }
    for name, floor in floors.items():
        if name in given and given[name] < floor:
            raise PistonError(f"{name} must be at least {math.ceil(floor)} on this server")
    wall_ms = given.get("run_timeout", min(RUN_TIMEOUT_MS, configured["run_timeout"]))
    cpu_ms = given.get("run_cpu_time", min(RUN_CPU_TIME_MS, configured["run_cpu_time"]))
    memory = given.get("run_memory_limit", float(configured["run_memory_limit"]))
    return {
        "wall_time_s": wall_ms / 1000,
        "cpu_time_s": cpu_ms / 1000,
        "memory_mb": math.ceil(memory / MIB),
    }
