"""What the endpoints do, apart from HTTP: validate, rate-limit, store, enqueue, wait."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from actors.config import QueueConfig
from actors.dispatch import Dispatcher
from actors.store import PREFIX, Record, StoreUnavailable, SubmissionStore
from actors.webhooks import check_callback_url
from api import errors
from api.auth import Principal
from api.config import ApiConfig
from sandbox.languages import Language
from sandbox.limits import LimitPolicy
from sandbox.submission import InvalidSubmission, SizeCaps, Submission, build_submission

SUBMISSION_KEYS = frozenset(
    {
        "code",
        "language",
        "test_cases",
        "stdin",
        "expected_output",
        "limits",
        "mode",
        "checker",
        "function_name",
        "callback_url",
        "args",
        "compiler_options",
        "additional_files",
        "redirect_stderr_to_stdout",
        "number_of_runs",
    }
)
COMPAT_KEY = "compat"  # what a compat API (Judge0, Piston) stores to answer in its own terms; never from clients
RATE_WINDOW_S = 60
MAX_CALLBACK_URL_CHARS = 2048


@dataclass
class SubmissionService:
    store: SubmissionStore
    dispatcher: Dispatcher
    registry: Mapping[str, Language]
    policy: LimitPolicy
    caps: SizeCaps
    api: ApiConfig
    queue: QueueConfig
    webhook_allow_private: bool = False
    clock: Callable[[], float] = time.time

    def validate(self, body: object, where: str = "") -> tuple[dict[str, Any], Submission]:
        if not isinstance(body, Mapping):
            raise errors.invalid(where or "body", "must be a JSON object")
        unknown = set(body) - SUBMISSION_KEYS
        if unknown:
            raise errors.invalid(f"{where}{sorted(unknown)[0]}", "unknown field")
        for group in ("limits", "checker"):  # the sandbox turns these into floats
            values = body.get(group)
            for name, value in values.items() if isinstance(values, Mapping) else ():
                if _overflows_float(value):
                    raise errors.invalid(f"{where}{group}.{name}", "is too large a number")
        try:
            submission = build_submission(body, self.registry, self.policy, self.caps)
        except InvalidSubmission as exc:
            raise errors.invalid(where + exc.field, exc.message) from exc
        callback = body.get("callback_url")
        if callback is not None:
            if not isinstance(callback, str) or len(callback) > MAX_CALLBACK_URL_CHARS:
                raise errors.invalid(where + "callback_url", "must be a URL string")
            try:
                check_callback_url(callback, self.webhook_allow_private)
            except ValueError as exc:  # WebhookRefused, or urllib's "Port out of range", "Invalid IPv6 URL"
                raise errors.invalid(where + "callback_url", str(exc)) from exc
        return dict(body), submission

    def _rate_limit(self, principal: Principal, count: int) -> None:
        now = self.clock()
        window = int(now // RATE_WINDOW_S)
        key = f"{PREFIX}rate:{principal.subject}:{window}"
        try:
            pipe = self.store.client.pipeline()
            pipe.incrby(key, count)
            pipe.expire(key, RATE_WINDOW_S * 2)
            used = int(pipe.execute()[0])
        except redis.RedisError as exc:
            raise StoreUnavailable(str(exc)) from exc
        if used > self.api.rate_limit_per_minute:
            retry = math.ceil((window + 1) * RATE_WINDOW_S - now)
            raise errors.too_many(f"more than {self.api.rate_limit_per_minute} submissions a minute", retry)

    def _backpressure(self, languages: set[str]) -> None:
        keys = sorted({self.queue.queue_key(self.queue.execute_queue(lang)) for lang in languages})
        depth = self.store.queue_depth(keys)
        if depth >= self.api.max_queue_depth:
            raise errors.unavailable(f"the queue is full ({depth} pending); retry later", retry_after_s=10)

    def submit_many(
        self,
        principal: Principal,
        bodies: list[object],
        batch: bool = False,
        compat: list[dict[str, Any]] | None = None,
    ) -> list[Record]:
        """All-or-nothing validation, then one record and one message each; a failed enqueue removes its record.
        ``compat[i]``, from a compat API, is stored with body i under COMPAT_KEY after validation."""
        checked = [self.validate(body, f"submissions[{i}]." if batch else "") for i, body in enumerate(bodies)]
        self._rate_limit(principal, len(checked))
        self._backpressure({s.language.key for _, s in checked})
        records = []
        for index, (body, submission) in enumerate(checked):
            clean = {k: v for k, v in body.items() if k != "callback_url"}
            if compat is not None:
                clean[COMPAT_KEY] = compat[index]
            record = self.store.create(principal.subject, clean, body.get("callback_url"))
            try:
                self.dispatcher.execute(record.id, submission.language.key)
            except BaseException:  # no record without its message, whatever stopped the enqueue
                with contextlib.suppress(StoreUnavailable):
                    self.store.delete(record.id)  # Redis gone as well: the record's TTL removes it
                raise
            records.append(record)
        return records

    def visible(self, principal: Principal, submission_id: str) -> Record:
        record = self.store.get(submission_id) if _plausible_id(submission_id) else None
        if record is None or not principal.can_see(record.owner):
            raise errors.not_found()
        return record

    def wait(self, record: Record, seconds: float) -> Record:
        if record.status.finished or seconds <= 0:
            return record
        return self.store.wait_finished(record.id, min(seconds, self.api.max_wait_s)) or record


def _plausible_id(submission_id: str) -> bool:
    return 0 < len(submission_id) <= 64 and all(c.isalnum() or c == "-" for c in submission_id)


def _overflows_float(value: object) -> bool:
    """An integer beyond float range (JSON allows 400 digits): sandbox limit checks would raise OverflowError."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    try:
        float(value)
    except OverflowError:
        return True
    return False
