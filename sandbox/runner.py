"""Run one submission in one fresh container: compile once, every test inside, then remove it."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.config import SandboxConfig
from sandbox.job import build_job, deadline_s, sandbox_uid
from sandbox.podman_api import AttachedStream, PodmanAPI, SandboxUnavailable
from sandbox.result import Output, Result, TestResult, combine_runs, failed_before_tests
from sandbox.spec import OWNER_LABEL, container_name, container_spec
from sandbox.statuses import Status
from sandbox.submission import Submission
from sandbox.verdict import Stage, compile_status, judge_test

if TYPE_CHECKING:  # the pool (threads, executors) is the workers'; a one-off `kodewar run` never loads it
    from sandbox.pool import WarmPool

HARNESS_STDERR_CAP_BYTES = 16 * 1024
RESULT_OVERHEAD_BYTES = 1024 * 1024  # JSON, base64 and framing around the captured outputs


class SandboxError(RuntimeError):
    """The sandbox itself misbehaved (harness crash, garbled report): an Internal Error, worth a retry."""


TestCallback = Callable[[int, TestResult], None]


class Runner:
    """Runs submissions; with a warm pool, in containers started ahead of demand (removed in the background
    after the result is read), falling back to a cold start when none is ready."""

    def __init__(self, config: SandboxConfig, api: PodmanAPI | None = None, pool: WarmPool | None = None) -> None:
        self.config = config
        self.api = api or PodmanAPI(config.podman_url, config.api_timeout_s)
        self.pool = pool

    def run(self, submission: Submission, on_test: TestCallback | None = None) -> Result:
        """Raises SandboxUnavailable when podman cannot run it (retry elsewhere); never for user code."""
        uid = sandbox_uid(self.config)
        job = build_job(submission, self.config, uid)
        line = json.dumps(job, separators=(",", ":")).encode() + b"\n"
        warm = self.pool.take(submission.language, submission.limits) if self.pool else None
        if warm is not None:
            try:
                warm.stream.send(line)
            except SandboxUnavailable:  # it died after the check: discard it, start one cold
                warm.stream.close()
                self._dispose(warm.container_id)
            else:
                deadline = time.monotonic() + deadline_s(submission, self.config)
                return self._drive(submission, warm.container_id, warm.name, warm.stream, deadline, on_test)
        name = container_name()
        spec = container_spec(submission.language, submission.limits, self.config, name)
        deadline = time.monotonic() + deadline_s(submission, self.config)
        container_id = self.api.create(spec)
        try:
            stream = self.api.attach(container_id)
            try:
                self.api.start(container_id)
                stream.send(line)
            except BaseException:
                stream.close()
                raise
        except BaseException:
            self._dispose(container_id)
            raise
        return self._drive(submission, container_id, name, stream, deadline, on_test)

    def _drive(
        self,
        submission: Submission,
        container_id: str,
        name: str,
        stream: AttachedStream,
        deadline: float,
        on_test: TestCallback | None,
    ) -> Result:
        """Read the harness's reports up to `done`, then hand the container to removal (with a pool the
        result does not wait for it). Past the deadline the container is force-removed before the answer."""
        removed = False
        try:
            try:
                return self._collect(submission, stream, deadline, on_test)
            finally:
                stream.close()
        except TimeoutError:
            import logging  # only here: logging costs every `kodewar run` ~4 ms of imports

            logging.getLogger(__name__).warning("sandbox %s passed its deadline; removing it", name)
            removed = True
            self.api.remove(container_id)
            return failed_before_tests(
                submission.language.key, Status.INTERNAL_ERROR, len(submission.tests), "sandbox deadline exceeded"
            )
        finally:
            if not removed:
                self._dispose(container_id)

    def _dispose(self, container_id: str) -> None:
        if self.pool is not None:
            self.pool.retire(container_id)  # background; a second remove of a gone container is fine
        else:
            self.api.remove(container_id)

    def _max_read_bytes(self, submission: Submission) -> int:
        per_stage = 2 * submission.limits.max_output_kib * 1024 * 4 // 3 + 4096
        compile_stage = 2 * self.config.policy.compile.max_output_kib * 1024 * 2
        return per_stage * len(submission.tests) * submission.runs + compile_stage + RESULT_OVERHEAD_BYTES

    def _collect(
        self, submission: Submission, stream: AttachedStream, deadline: float, on_test: TestCallback | None
    ) -> Result:
        language = submission.language
        display = self.config.display_output_kib * 1024
        tests: list[TestResult] = []
        compile_output = Output()
        line = bytearray()
        harness_stderr = bytearray()
        runs: list[TestResult] = []  # the runs of the test under way (number_of_runs)
        done = False
        for kind, payload in stream.frames(deadline, self._max_read_bytes(submission)):
            if kind != 1:
                harness_stderr += payload[: max(0, HARNESS_STDERR_CAP_BYTES - len(harness_stderr))]
                continue
            line += payload
            while b"\n" in line:
                raw, _, rest = bytes(line).partition(b"\n")
                line = bytearray(rest)
                event = _parse(raw)
                kind_name = event.get("event")
                if kind_name == "compile":
                    stage = Stage.from_report(event)
                    compile_output = Output.capture(stage.stdout + stage.stderr, display)
                    status, message = compile_status(stage, self.config.policy.compile, language)
                    if status is not None:
                        return failed_before_tests(
                            language.key, status, len(submission.tests), message or "", compile_output
                        )
                elif kind_name == "test":
                    index, attempt = int(event["index"]), int(event.get("run", 0))
                    if attempt == 0 and runs:
                        tests.append(self._finish_test(runs, on_test, len(tests)))
                        runs = []
                    if (index, attempt) != (len(tests), len(runs)) or index >= len(submission.tests) or (
                        attempt >= submission.runs
                    ):
                        raise SandboxError(f"harness reported test {index} run {attempt} out of order")
                    test = submission.tests[index]
                    runs.append(
                        judge_test(
                            Stage.from_report(event),
                            test.expected,
                            submission.limits,
                            language,
                            submission.checker,
                            display,
                        )
                    )
                elif kind_name == "done":
                    if runs:
                        tests.append(self._finish_test(runs, on_test, len(tests)))
                        runs = []
                    done = True
                elif kind_name == "error":
                    raise SandboxError(f"harness failed: {event.get('message')}")
            if done:  # the last report: answer now, the container's exit and removal happen meanwhile
                break
        if not done or len(tests) != len(submission.tests):
            detail = harness_stderr.decode(errors="replace").strip()[-2000:]
            raise SandboxError(
                f"sandbox ended after {len(tests)} of {len(submission.tests)} tests: {detail or 'no output'}"
            )
        return Result(language.key, tuple(tests), compile_output)

    @staticmethod
    def _finish_test(runs: list[TestResult], on_test: TestCallback | None, index: int) -> TestResult:
        result = combine_runs(runs)
        if on_test:
            on_test(index, result)
        return result


def remove_orphans(api: PodmanAPI) -> int:
    """Remove sandboxes whose owner process on this host is gone (a worker killed mid-run cannot run
    its `finally`). Containers of live owners, or of other hosts sharing the service, are left alone."""
    host = socket.gethostname()
    removed = 0
    for container_id, labels in api.sandbox_containers().items():
        owner_host, _, pid = labels.get(OWNER_LABEL, "").rpartition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        api.remove(container_id)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except ValueError as exc:
        raise SandboxError(f"garbled harness report: {raw[:200]!r}") from exc
    if not isinstance(event, dict):
        raise SandboxError("garbled harness report")
    return event


__all__ = ["Runner", "SandboxError", "SandboxUnavailable", "remove_orphans"]
