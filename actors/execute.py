"""The execute actor's body: claim the submission, run it in the sandbox, write the result once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping

from dramatiq.middleware import CurrentMessage

from actors.dispatch import Dispatcher
from actors.metrics import WorkerMetrics
from actors.store import SubmissionStore
from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.podman_api import SandboxUnavailable
from sandbox.result import failed_before_tests
from sandbox.runner import Runner, SandboxError
from sandbox.statuses import Status
from sandbox.submission import InvalidSubmission, build_submission

log = logging.getLogger(__name__)


class Slots:
    """How many sandboxes this worker runs right now (reported in its heartbeat)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.busy = 0

    def __enter__(self) -> None:
        with self._lock:
            self.busy += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.busy -= 1


class ExecuteSubmission:
    def __init__(
        self,
        *,
        store: SubmissionStore,
        runner: Runner,
        registry: Mapping[str, Language],
        sandbox: SandboxConfig,
        dispatcher: Dispatcher,
        worker_id: str,
        max_retries: int,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.registry = registry
        self.sandbox = sandbox
        self.dispatcher = dispatcher
        self.worker_id = worker_id
        self.max_retries = max_retries
        self.metrics = metrics
        self.slots = Slots()
        self._held: set[str] = set()  # submissions an actor call of this process is working on
        self._held_lock = threading.Lock()

    def holds(self, submission_id: str) -> bool:
        """True while this process works on it; the janitor requeues what this worker claimed but dropped
        (a result it could not write while Redis was down), since its live heartbeat hides it otherwise."""
        with self._held_lock:
            return submission_id in self._held

    def __call__(self, submission_id: str, language: str = "") -> None:
        with self._held_lock:
            if submission_id in self._held:  # a requeue and a retry of the same submission both arrived here
                log.info("submission %s already runs here, dropping the duplicate message", submission_id)
                return
            self._held.add(submission_id)
        try:
            self._execute(submission_id, language)
        finally:
            with self._held_lock:
                self._held.discard(submission_id)

    def _execute(self, submission_id: str, language: str) -> None:
        outcome = self.store.claim(submission_id, self.worker_id)
        if outcome != "claimed":
            log.info("submission %s: %s, dropping the message", submission_id, outcome)
            return
        record = self.store.get(submission_id)
        if record is None:
            return
        try:
            submission = build_submission(record.body, self.registry, self.sandbox.policy, self.sandbox.caps)
        except InvalidSubmission as exc:  # the API checked it; only a settings change between can land here
            self._finish(
                submission_id,
                record.callback_url,
                failed_before_tests(language, Status.INTERNAL_ERROR, 0, str(exc)).as_dict(),
            )
            return
        started = time.monotonic()
        try:
            with self.slots:
                result = self.runner.run(submission)
        except (SandboxUnavailable, SandboxError) as exc:
            if self._last_attempt():
                log.error("submission %s: giving up after infrastructure errors: %s", submission_id, exc)
                failed = failed_before_tests(
                    submission.language.key, Status.INTERNAL_ERROR, len(submission.tests), str(exc)
                )
                self._finish(submission_id, record.callback_url, failed.as_dict())
                return
            self.store.release(submission_id, self.worker_id)
            raise  # Retries middleware: infrastructure errors only
        if self.metrics:
            self.metrics.sandbox_seconds.labels(submission.language.key).observe(time.monotonic() - started)
            self.metrics.verdicts.labels(submission.language.key, result.status.description).inc()
        self._finish(submission_id, record.callback_url, result.as_dict())

    def _last_attempt(self) -> bool:
        message = CurrentMessage.get_current_message()
        retries = message.options.get("retries", 0) if message else self.max_retries
        return int(retries) >= self.max_retries

    def _finish(self, submission_id: str, callback_url: str | None, result: dict[str, object]) -> None:
        status = Status(int(result["status"]["id"]))  # type: ignore[index]
        if not self.store.finish(submission_id, status, result):
            log.info("submission %s was already finished elsewhere; result discarded", submission_id)
            return
        if callback_url:
            self.dispatcher.webhook(submission_id)
