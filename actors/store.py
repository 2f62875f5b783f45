"""The submission store in Redis: a compare-and-set state machine In Queue -> Processing -> finished.

Every transition is one Lua script, so two workers holding the same (redelivered) message can never
both run it while its first owner lives, and a result is written exactly once. Redis errors become
StoreUnavailable here, where they enter.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from sandbox.statuses import Status

PREFIX = "kw:"
PROCESSING_SET = PREFIX + "processing"  # zset: submission id -> claim time (s)
WORKER_KEY = PREFIX + "worker:"  # + worker id: JSON heartbeat, expires when the worker stops beating
DONE_CHANNEL = PREFIX + "done:"  # + submission id: published once when the result is written

_CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == '1' then
  redis.call('HSET', KEYS[1], 'status', '2', 'worker', ARGV[1], 'started_at', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 'claimed'
end
if status == '2' then
  local owner = redis.call('HGET', KEYS[1], 'worker')
  if owner == ARGV[1] then return 'claimed' end
  if redis.call('EXISTS', ARGV[4] .. owner) == 1 then return 'busy' end
  redis.call('HSET', KEYS[1], 'worker', ARGV[1], 'started_at', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'attempts', 1)
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 'claimed'
end
return 'finished'
"""

_FINISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= '1' and status ~= '2' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'result', ARGV[2], 'finished_at', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'status') ~= '2' or redis.call('HGET', KEYS[1], 'worker') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'status', '1', 'worker', '')
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""


class StoreUnavailable(RuntimeError):
    """Redis cannot be reached or answered with an error."""


@dataclass(frozen=True)
class Record:
    id: str
    owner: str
    status: Status
    body: dict[str, Any]
    created_at: float
    attempts: int = 0
    worker: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    callback_url: str | None = None

    @classmethod
    def from_hash(cls, submission_id: str, data: Mapping[bytes, bytes]) -> Record:
        text = {k.decode(): v.decode() for k, v in data.items()}
        return cls(
            id=submission_id,
            owner=text.get("owner", ""),
            status=Status(int(text["status"])),
            body=json.loads(text.get("body", "{}")),
            created_at=float(text.get("created_at", 0)),
            attempts=int(text.get("attempts", 0)),
            worker=text.get("worker") or None,
            started_at=float(text["started_at"]) if text.get("started_at") else None,
            finished_at=float(text["finished_at"]) if text.get("finished_at") else None,
            result=json.loads(text["result"]) if text.get("result") else None,
            callback_url=text.get("callback_url") or None,
        )


    def public_view(self) -> dict[str, Any]:
        """What clients see (status endpoints, webhooks): no owner internals, the result when finished."""
        view: dict[str, Any] = {
            "submission_id": self.id,
            "status": self.status.as_dict(),
            "language": self.body.get("language"),
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
        }
        if self.result:
            view.update({k: v for k, v in self.result.items() if k not in view or k == "status"})
        return view


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_submission_id() -> str:
    return str(uuid.uuid4())


class SubmissionStore:
    def __init__(self, client: redis.Redis, result_ttl_s: int = 7 * 24 * 3600) -> None:
        self.client = client
        self.result_ttl_s = result_ttl_s
        self._claim = client.register_script(_CLAIM)
        self._finish = client.register_script(_FINISH)
        self._release = client.register_script(_RELEASE)

    @staticmethod
    def key(submission_id: str) -> str:
        return f"{PREFIX}sub:{submission_id}"

    def _do(self, what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"redis: {what} failed: {exc}") from exc

    def ping(self) -> None:
        self._do("ping", self.client.ping)

    def create(self, owner: str, body: Mapping[str, Any], callback_url: str | None = None) -> Record:
        now = time.time()
        record = Record(new_submission_id(), owner, Status.IN_QUEUE, dict(body), now, callback_url=callback_url)
        fields = {
            "owner": owner,
            "status": int(Status.IN_QUEUE),
            "body": json.dumps(body),
            "created_at": repr(now),
            "attempts": 0,
            "callback_url": callback_url or "",
        }
        pipe = self.client.pipeline()
        pipe.hset(self.key(record.id), mapping=fields)  # type: ignore[arg-type]
        pipe.expire(self.key(record.id), self.result_ttl_s)
        self._do("create", pipe.execute)
        return record

    def delete(self, submission_id: str) -> None:
        self._do("delete", self.client.delete, self.key(submission_id))

    def get(self, submission_id: str) -> Record | None:
        data = self._do("get", self.client.hgetall, self.key(submission_id))
        return Record.from_hash(submission_id, data) if data else None

    def get_many(self, submission_ids: list[str]) -> list[Record | None]:
        pipe = self.client.pipeline()
        for submission_id in submission_ids:
            pipe.hgetall(self.key(submission_id))
        rows = self._do("get", pipe.execute)
        return [Record.from_hash(i, d) if d else None for i, d in zip(submission_ids, rows, strict=True)]

    def claim(self, submission_id: str, worker_id: str) -> str:
        """'claimed' (run it), 'busy' (a live worker has it), 'finished' or 'missing' (drop the message)."""
        outcome = self._do(
            "claim",
            self._claim,
            keys=[self.key(submission_id), PROCESSING_SET],
            args=[worker_id, repr(time.time()), submission_id, WORKER_KEY],
        )
        return outcome.decode() if isinstance(outcome, bytes) else str(outcome)

    def finish(self, submission_id: str, status: Status, result: Mapping[str, Any]) -> bool:
        """Write the result once; False when it was already written (a duplicate run lost the race)."""
        written = self._do(
            "finish",
            self._finish,
            keys=[self.key(submission_id), PROCESSING_SET, DONE_CHANNEL + submission_id],
            args=[int(status), json.dumps(result), repr(time.time()), self.result_ttl_s, submission_id],
        )
        return bool(written)

    def release(self, submission_id: str, worker_id: str) -> bool:
        """Put a submission this worker holds back to In Queue (shutdown, or an infrastructure failure)."""
        released = self._do(
            "release", self._release, keys=[self.key(submission_id), PROCESSING_SET], args=[worker_id, submission_id]
        )
        return bool(released)

    def processing(self) -> list[tuple[str, str | None]]:
        """(submission id, worker id) of everything claimed and not finished."""
        ids = [i.decode() for i in self._do("scan processing", self.client.zrange, PROCESSING_SET, 0, -1)]
        pipe = self.client.pipeline()
        for submission_id in ids:
            pipe.hget(self.key(submission_id), "worker")
        owners = self._do("scan processing", pipe.execute)
        return [(i, o.decode() if o else None) for i, o in zip(ids, owners, strict=True)]

    def forget_processing(self, submission_id: str) -> None:
        self._do("forget", self.client.zrem, PROCESSING_SET, submission_id)

    def worker_alive(self, worker_id: str) -> bool:
        return bool(self._do("worker lookup", self.client.exists, WORKER_KEY + worker_id))

    def wait_finished(self, submission_id: str, timeout_s: float) -> Record | None:
        """Block until the submission is finished or the timeout passes, by notification, not polling."""
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            self._do("subscribe", pubsub.subscribe, DONE_CHANNEL + submission_id)
            record = self.get(submission_id)  # after subscribing, so a finish in between is not missed
            deadline = time.monotonic() + timeout_s
            while record is not None and not record.status.finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                message = self._do("wait", pubsub.get_message, timeout=remaining)
                if message is not None:
                    record = self.get(submission_id)
            return record
        finally:
            with contextlib.suppress(redis.RedisError):
                pubsub.close()

    def queue_depth(self, queue_keys: list[str]) -> int:
        pipe = self.client.pipeline()
        for key in queue_keys:
            pipe.llen(key)
        return sum(self._do("queue depth", pipe.execute))

    def heartbeat(self, worker_id: str, info: Mapping[str, Any], ttl_s: float) -> None:
        self._do("heartbeat", self.client.set, WORKER_KEY + worker_id, json.dumps(dict(info)), px=int(ttl_s * 1000))

    def drop_worker(self, worker_id: str) -> None:
        self._do("worker stop", self.client.delete, WORKER_KEY + worker_id)

    def workers(self) -> Iterator[dict[str, Any]]:
        keys = self._do("list workers", lambda: list(self.client.scan_iter(match=WORKER_KEY + "*", count=500)))
        if not keys:
            return
        for raw in self._do("list workers", self.client.mget, keys):
            if raw:
                yield json.loads(raw)
