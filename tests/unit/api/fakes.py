"""In-memory stand-ins for what SubmissionService touches: the store (and its Redis client, used only for
the rate-limit counter) and the dispatcher. Each can be told to fail the way its real counterpart fails."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import falcon
import falcon.testing
import redis

from actors.config import QueueConfig
from actors.dispatch import Dispatcher
from actors.store import Record, StoreUnavailable, SubmissionStore, new_submission_id
from api.app import Dependencies, create_app
from api.auth import TokenAuthority
from api.config import ApiConfig
from api.metrics import ApiMetrics
from api.service import SubmissionService
from sandbox.languages import Language, load_registry
from sandbox.limits import LimitPolicy
from sandbox.statuses import Status
from sandbox.submission import SizeCaps

SECRET = b"unit-test-secret-" + b"k" * 48  # 64 bytes: long enough for HS512 too (the refused-alg test)
TOKEN_TTL_S = 600


class FakePipeline:
    """The two calls the rate limiter makes (INCRBY, EXPIRE), executed together."""

    def __init__(self, client: FakeRedis) -> None:
        self.client = client
        self.ops: list[tuple[str, str, int]] = []

    def incrby(self, key: str, amount: int) -> FakePipeline:
        self.ops.append(("incrby", key, amount))
        return self

    def expire(self, key: str, seconds: int) -> FakePipeline:
        self.ops.append(("expire", key, seconds))
        return self

    def execute(self) -> list[int]:
        if self.client.down:
            raise redis.ConnectionError("fake redis is down")
        results = []
        for op, key, value in self.ops:
            if op == "incrby":
                self.client.counters[key] = self.client.counters.get(key, 0) + value
                results.append(self.client.counters[key])
            else:
                results.append(1)
        return results


@dataclass
class FakeRedis:
    counters: dict[str, int] = field(default_factory=dict)
    down: bool = False

    def pipeline(self) -> FakePipeline:
        return FakePipeline(self)


@dataclass
class FakeStore:
    """SubmissionStore's methods the API calls, over a dict."""

    records: dict[str, Record] = field(default_factory=dict)
    client: FakeRedis = field(default_factory=FakeRedis)
    depth: int = 0  # what queue_depth answers
    fleet: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    waits: list[tuple[str, float]] = field(default_factory=list)

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable("redis: fake store is down")

    def ping(self) -> None:
        self._check()

    def create(self, owner: str, body: Mapping[str, Any], callback_url: str | None = None) -> Record:
        self._check()
        record = Record(new_submission_id(), owner, Status.IN_QUEUE, dict(body), time.time(), callback_url=callback_url)
        self.records[record.id] = record
        return record

    def delete(self, submission_id: str) -> None:
        self._check()
        self.records.pop(submission_id, None)

    def get(self, submission_id: str) -> Record | None:
        self._check()
        return self.records.get(submission_id)

    def wait_finished(self, submission_id: str, timeout_s: float) -> Record | None:
        self._check()
        self.waits.append((submission_id, timeout_s))
        return self.records.get(submission_id)

    def queue_depth(self, queue_keys: list[str]) -> int:
        self._check()
        return self.depth

    def workers(self) -> Iterator[dict[str, Any]]:
        self._check()
        yield from self.fleet

    def finish(self, submission_id: str, status: Status, result: Mapping[str, Any]) -> None:
        """Test helper: what a worker's result write leaves behind."""
        record = self.records[submission_id]
        self.records[submission_id] = replace(record, status=status, result=dict(result), finished_at=time.time())


@dataclass
class FakeDispatcher:
    """Records what would be enqueued; ``fail`` is raised instead, ``worker`` runs as if a worker took it."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    fail: BaseException | None = None
    worker: Callable[[str], None] | None = None

    def execute(self, submission_id: str, language: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((submission_id, language))
        if self.worker is not None:
            self.worker(submission_id)


@dataclass
class Harness:
    """An app on fakes plus the handles a test needs to steer and inspect it."""

    store: FakeStore
    dispatcher: FakeDispatcher
    authority: TokenAuthority
    service: SubmissionService
    app: falcon.App
    client: falcon.testing.TestClient

    def token(self, subject: str = "alice", scopes: tuple[str, ...] = ("submit", "read")) -> str:
        return self.authority.issue(subject, scopes, TOKEN_TTL_S)

    def auth(self, subject: str = "alice", scopes: tuple[str, ...] = ("submit", "read")) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, scopes)}"}


def registry() -> dict[str, Language]:
    return load_registry()


def make_harness(api: ApiConfig | None = None, caps: SizeCaps | None = None) -> Harness:
    store = FakeStore()
    dispatcher = FakeDispatcher()
    authority = TokenAuthority(SECRET)
    service = SubmissionService(
        store=cast(SubmissionStore, store),
        dispatcher=cast(Dispatcher, dispatcher),
        registry=registry(),
        policy=LimitPolicy(),
        caps=caps or SizeCaps(),
        api=api or ApiConfig(max_wait_s=1.0),
        queue=QueueConfig(),
        webhook_allow_private=False,
    )
    app = create_app(Dependencies(service=service, authority=authority, metrics=ApiMetrics()))
    return Harness(store, dispatcher, authority, service, app, falcon.testing.TestClient(app))
