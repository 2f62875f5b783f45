"""HTTP resources: thin translations between requests and SubmissionService, plus catalog and health."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import falcon

from actors.store import Record, SubmissionStore
from api import errors
from api.auth import Principal
from api.service import SubmissionService
from sandbox.languages import Language
from sandbox.statuses import Status

WAIT_TRUE = ("true", "1", "yes")


def read_json(req: falcon.Request, max_bytes: int) -> object:
    if req.content_length is not None and req.content_length > max_bytes:
        raise errors.APIError(falcon.HTTP_413, "too_large", f"the body is over {max_bytes} bytes")
    if not req.content_type or not req.content_type.split(";")[0].strip().lower() == "application/json":
        raise errors.APIError(falcon.HTTP_415, "unsupported_media_type", "send the body as application/json")
    raw = req.bounded_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise errors.APIError(falcon.HTTP_413, "too_large", f"the body is over {max_bytes} bytes")
    try:
        body = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise errors.bad_request(f"malformed JSON: {exc}") from exc
    check_representable(body)
    return body


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not a JSON value")


def check_representable(value: object) -> None:
    """422 for an unpaired UTF-16 surrogate (`"\\ud800"`) in a string or key: json.loads accepts it, but
    UTF-8 encoding fails later, also when an error message echoes it. Iterative: the depth is whatever
    json.loads allowed."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                raise errors.invalid(path or "body", "contains an unpaired UTF-16 surrogate")
        elif isinstance(item, dict):
            for key, child in item.items():
                if not _encodable(key):
                    raise errors.invalid(path or "body", "a key contains an unpaired UTF-16 surrogate")
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path or 'body'}[{i}]", child) for i, child in enumerate(item))


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def principal_of(req: falcon.Request) -> Principal:
    principal = req.context.principal
    assert principal is not None  # AuthMiddleware ran for every route that needs a scope
    return principal


def wait_seconds(req: falcon.Request, cap_s: float) -> float:
    raw = (req.get_param("wait") or "").lower()
    if raw in WAIT_TRUE:
        return cap_s
    if raw in ("", "false", "0", "no"):
        return 0.0
    try:
        seconds = float(raw)
    except ValueError as exc:
        raise errors.invalid("wait", "must be true, false or a number of seconds") from exc
    if not 0 <= seconds <= cap_s:
        raise errors.invalid("wait", f"must be between 0 and {cap_s} seconds")
    return seconds


def answer(resp: falcon.Response, record: Record) -> None:
    resp.media = record.public_view()
    resp.status = falcon.HTTP_200 if record.status.finished else falcon.HTTP_202


class Submissions:
    scopes: ClassVar[dict[str, str]] = {"POST": "submit", "GET": "read"}

    def __init__(self, service: SubmissionService) -> None:
        self.service = service

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self.service.api.max_body_bytes)
        seconds = wait_seconds(req, self.service.api.max_wait_s)
        (record,) = self.service.submit_many(principal_of(req), [body])
        record = self.service.wait(record, seconds)
        answer(resp, record)
        if not record.status.finished:
            resp.status = falcon.HTTP_202
        resp.location = f"/api/v1/submissions/{record.id}"

    def on_get_one(self, req: falcon.Request, resp: falcon.Response, submission_id: str) -> None:
        record = self.service.visible(principal_of(req), submission_id)
        answer(resp, self.service.wait(record, wait_seconds(req, self.service.api.max_wait_s)))


class Batch:
    scopes: ClassVar[dict[str, str]] = {"POST": "submit", "GET": "read"}

    def __init__(self, service: SubmissionService) -> None:
        self.service = service

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self.service.api.max_body_bytes)
        items = body.get("submissions") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or not items:
            raise errors.invalid("submissions", "must be a non-empty list of submission objects")
        if len(items) > self.service.api.max_batch:
            raise errors.invalid("submissions", f"at most {self.service.api.max_batch} per batch")
        records = self.service.submit_many(principal_of(req), items, batch=True)
        resp.status = falcon.HTTP_202
        resp.media = {"submissions": [{"submission_id": r.id, "status": r.status.as_dict()} for r in records]}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        # `?ids=a,b` and `?ids=a&ids=b` both work; get_param alone would keep only the last repeated value.
        ids = [i for value in req.get_param_as_list("ids") or [] for i in value.split(",") if i]
        if not ids:
            raise errors.invalid("ids", "give a comma-separated list of submission ids")
        if len(ids) > self.service.api.max_batch_ids:
            raise errors.invalid("ids", f"at most {self.service.api.max_batch_ids} ids")
        principal = principal_of(req)
        views: list[dict[str, Any] | None] = []
        for submission_id in ids:
            try:
                views.append(self.service.visible(principal, submission_id).public_view())
            except falcon.HTTPNotFound:
                views.append(None)
            except errors.APIError as exc:
                if exc.status != falcon.HTTP_404:
                    raise
                views.append(None)
        resp.media = {"submissions": views}


class SeedSubmit:
    """The seed's `POST /api/submit/`: same body, answers 202 with the submission id."""

    scopes: ClassVar[dict[str, str]] = {"POST": "submit"}

    def __init__(self, service: SubmissionService) -> None:
        self.service = service

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, self.service.api.max_body_bytes)
        (record,) = self.service.submit_many(principal_of(req), [body])
        resp.status = falcon.HTTP_202
        resp.media = {"submission_id": record.id, "status": record.status.as_dict()}


class SeedStatus:
    """The seed's `GET /api/status/?submission_id=ID`: the status, and the full result once finished."""

    scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    def __init__(self, service: SubmissionService) -> None:
        self.service = service

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        submission_id = req.get_param("submission_id")
        if not submission_id:
            raise errors.invalid("submission_id", "is required")
        resp.media = self.service.visible(principal_of(req), submission_id).public_view()


class Languages:
    def __init__(self, registry: Mapping[str, Language]) -> None:
        self.body = [
            {
                "language": lang.key,
                "name": lang.name,
                "version": lang.version,
                "compiled": lang.compiled,
                "function_mode": lang.function is not None,
            }
            for lang in registry.values()
        ]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body


class Statuses:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = [status.as_dict() for status in Status]


class Workers:
    scopes: ClassVar[dict[str, str]] = {"GET": "read"}

    def __init__(self, store: SubmissionStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        workers = sorted(self.store.workers(), key=lambda w: str(w.get("worker_id")))
        resp.media = {"workers": workers, "total_slots": sum(int(w.get("slots", 0)) for w in workers)}


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Ready:
    def __init__(self, store: SubmissionStore) -> None:
        self.store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.store.ping()
        workers = list(self.store.workers())
        if not workers:
            raise errors.unavailable("no live worker", retry_after_s=5)
        resp.media = {"status": "ready", "workers": len(workers)}
