"""Build the job the in-container harness runs: files, commands, environment and limits."""

from __future__ import annotations

import base64
import os
from functools import cache
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.modes import HARNESS_DIR, function_run_template, function_wrapper_path
from sandbox.submission import Submission

FORK_SERVER_SOURCES = {"python": HARNESS_DIR / "fork_server_python.py"}
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/box",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}


@cache
def _shipped(path: Path) -> bytes:
    """A file of ours that travels in every job (wrapper, fork server): read once per process."""
    return path.read_bytes()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def harness_limits(limits: Limits, overhead_mb: int) -> dict[str, object]:
    return {**limits.as_dict(), "memory_overhead_mb": overhead_mb}


def sandbox_uid(config: SandboxConfig) -> int:
    low, high = config.uid_range
    # os.urandom, not secrets (~4 ms of imports for `kodewar run`); the bias of a 64-bit draw is nil
    return low + int.from_bytes(os.urandom(8), "big") % (high - low)


def build_job(submission: Submission, config: SandboxConfig, uid: int) -> dict[str, object]:
    language = submission.language
    compile_limits = config.policy.compile
    values = {
        "memory_mb": submission.limits.memory_mb,
        "compile_memory_mb": compile_limits.memory_mb,
        "stack_mb": submission.limits.stack_mb,
    }
    files = {language.source: _b64(submission.code.encode())}
    for name, data in submission.files:  # checked by build_submission: relative, no clash with the source
        files.setdefault(name, _b64(data))
    run_argv = [*language.argv(language.run, **values), *submission.args]
    if submission.mode == "function":  # the wrapper runs in the source's place and calls the function
        wrapper = function_wrapper_path(language)
        files[wrapper.name] = _b64(_shipped(wrapper))
        run_argv = language.argv(function_run_template(language, submission.function_name), **values)
    run: dict[str, object] = {
        "argv": run_argv,
        "limits": harness_limits(submission.limits, language.memory_overhead_mb),
        "merge_stderr": submission.redirect_stderr,
        "runs": submission.runs,
    }
    if (
        language.fork_server
        and config.fork_servers
        and len(submission.tests) * submission.runs >= config.fork_server_min_runs
    ):
        run["fork_server"] = fork_server(language, run_argv)
    job: dict[str, object] = {
        "uid": uid,
        "env": {**BASE_ENV, **language.env},
        "files": files,
        "run": run,
        "tests": [{"stdin": _b64(t.input.encode())} for t in submission.tests],
    }
    if language.compiled:
        job["compile"] = {
            "argv": compile_argv(language, submission.compiler_options, **values),
            "limits": harness_limits(compile_limits, language.memory_overhead_mb),
        }
    return job


def fork_server(language: Language, run_argv: list[str]) -> dict[str, list[str]]:
    """How the harness starts the fork server: the run command's interpreter and flags, the server's
    source in place of the program, then the program and its arguments (the source or the function
    wrapper sits where {source} is in the template)."""
    assert language.fork_server is not None
    at = language.run.index("{source}")
    source = _shipped(FORK_SERVER_SOURCES[language.fork_server]).decode()
    return {"command": [*run_argv[:at], "-P", "-c", source], "program": run_argv[at:]}


def compile_argv(language: Language, options: tuple[str, ...], **values: object) -> list[str]:
    """The compile command with the client's options just before the source, where Judge0 puts them
    (`gcc %s main.c`): flags then apply to it, and `go build` takes no flag after a file name."""
    argv = language.argv(language.compile, **values)  # one entry per template entry
    at = language.compile.index("{source}") if "{source}" in language.compile else len(argv)
    return [*argv[:at], *options, *argv[at:]]


def deadline_s(submission: Submission, config: SandboxConfig) -> float:
    """Upper bound on one container's life; past it the runner force-removes the container."""
    per_test = submission.limits.wall_time_s + config.per_test_grace_s
    compile_s = config.policy.compile.wall_time_s if submission.language.compiled else 0.0
    return config.startup_grace_s + compile_s + per_test * len(submission.tests) * submission.runs
