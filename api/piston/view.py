"""A finished submission as Piston v2's execute answer: `{language, version, run, compile}`.

A stage is `{stdout, stderr, output, code, signal, message, status, memory, cpu_time, wall_time}` as
Piston's job.js reports it: `code` is null when a signal ended the program, `signal` a name, `status`
isolate's two letters (TO time, OL/EL stdout/stderr too long, SG signal, RE non-zero exit, XX internal
error), memory in bytes and times in milliseconds. `output` is stdout followed by stderr (KodeWar
captures the streams apart; their interleaving is not kept). A failed compile is also the `run` stage,
as Piston answers when the run never started.
"""

from __future__ import annotations

import signal as signals
from collections.abc import Mapping
from typing import Any

from actors.store import Record
from api.piston.runtimes import Runtime
from api.piston.semver import show
from sandbox.statuses import Status

KIB = 1024


def signal_name(number: object) -> str | None:
    if not isinstance(number, int):
        return None
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"SIG{number}"


def response(record: Record, runtime: Runtime) -> dict[str, Any]:
    result = record.result or {}
    answer: dict[str, Any] = {"language": runtime.language, "version": show(runtime.version)}
    ran = [t for t in result.get("tests") or [] if t.get("status", {}).get("id") != Status.SKIPPED]
    if runtime.registry_language.compiled:
        answer["compile"] = _compile(record.status, result, compiled_ok=bool(ran))
    if ran:
        answer["run"] = _run(ran[0])
    elif "compile" in answer and record.status is Status.COMPILATION_ERROR:
        answer["run"] = dict(answer["compile"])
    else:
        answer["run"] = _stage("", "", None, None, result.get("message") or record.status.description, "XX")
    return answer


def _stage(
    stdout: str, stderr: str, code: int | None, signal: str | None, message: str | None, status: str | None
) -> dict[str, Any]:
    return {
        "stdout": stdout,
        "stderr": stderr,
        "output": stdout + stderr,
        "code": code,
        "signal": signal,
        "message": message,
        "status": status,
        "memory": None,
        "cpu_time": None,
        "wall_time": None,
    }


def _compile(status: Status, result: Mapping[str, Any], compiled_ok: bool) -> dict[str, Any]:
    output = str(result.get("compile_output") or "")
    if compiled_ok or status not in (Status.COMPILATION_ERROR, Status.INTERNAL_ERROR):
        return _stage("", output, 0, None, None, None)
    message = result.get("message")
    if status is Status.INTERNAL_ERROR:
        return _stage("", output, None, None, message, "XX")
    if "time exceeded" in str(message or ""):
        return _stage("", output, None, "SIGKILL", message, "TO")
    return _stage("", output, 1, None, message, "RE")


def _run(test: Mapping[str, Any]) -> dict[str, Any]:
    status = Status(int(test["status"]["id"]))
    signal = signal_name(test.get("signal"))
    code = None if signal else test.get("exit_code")
    message = test.get("message")
    piston_status: str | None = None
    if status is Status.TIME_LIMIT_EXCEEDED:
        piston_status, signal, code = "TO", signal or "SIGKILL", None
    elif status is Status.OUTPUT_LIMIT_EXCEEDED:
        stdout_long = bool(test.get("stdout_truncated"))
        piston_status = "OL" if stdout_long else "EL"
        message = "stdout length exceeded" if stdout_long else "stderr length exceeded"
        signal, code = signal or "SIGKILL", None
    elif status in (Status.INTERNAL_ERROR, Status.EXEC_FORMAT_ERROR):
        piston_status = "XX"
    elif signal:
        piston_status = "SG"
    elif code not in (0, None):
        piston_status = "RE"
    stage = _stage(str(test.get("stdout") or ""), str(test.get("stderr") or ""), code, signal, message, piston_status)
    stage["memory"] = int(test.get("memory") or 0) * KIB
    stage["cpu_time"] = round(float(test.get("time") or 0) * 1000, 3)
    stage["wall_time"] = round(float(test.get("wall_time") or 0) * 1000, 3)
    if status in (Status.ACCEPTED, Status.WRONG_ANSWER):
        stage["message"] = None
    return stage
