"""Judge0 CE 1.13.1's routes under /judge0, on the native pipeline (SubmissionService).

Query parameters as Judge0 reads them: `base64_encoded=true`, `wait=true` (create only), `fields=a,b`
or `*`, plus KodeWar's `extended_statuses=true`. Catalog routes are public like the native ones;
submissions need the `submit`/`read` scopes, the token sent as `X-Auth-Token` or a Bearer header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import falcon

from actors.store import Record
from api import compat, errors
from api.auth import Principal, TokenAuthority
from api.judge0 import statuses
from api.judge0.errors import bad_request, judge0_errors, not_found, translate
from api.judge0.languages import JUDGE0_VERSION, Judge0Language, catalog, detail, summary
from api.judge0.request import COMPAT, DEFAULT_CPU_EXTRA_TIME_S, FieldErrors
from api.judge0.request import translate as translate_request
from api.judge0.view import render, requested_fields
from api.resources import read_json
from api.service import SubmissionService
from sandbox.archive import MAX_EXTRACT_BYTES

PREFIX = "/judge0"
HOMEPAGE = "https://github.com/kodewar"  # informational only (Judge0's /about)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"  # Judge0 compares with "true" only


@dataclass
class Judge0:
    """What every Judge0 resource needs."""

    service: SubmissionService
    authority: TokenAuthority
    languages: dict[int, Judge0Language] = field(init=False)

    def __post_init__(self) -> None:
        self.languages = catalog(self.service.registry)

    def caller(self, req: falcon.Request, scope: str) -> Principal:
        return compat.principal(req, self.authority, scope)

    def view(self, req: falcon.Request, record: Record, fields: tuple[str, ...]) -> dict[str, Any]:
        return render(
            record,
            fields,
            encoded=_true(req.get_param("base64_encoded")),
            extended=_true(req.get_param(statuses.EXTENDED_PARAM)),
            languages=self.languages,
            registry=self.service.registry,
            policy=self.service.policy,
        )

    def native(self, raw: object, req: falcon.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        body, asked = translate_request(
            raw,
            encoded=_true(req.get_param("base64_encoded")),
            languages=self.languages,
            policy=self.service.policy,
            caps=self.service.caps,
        )
        return body, {COMPAT: asked}


class Submissions:
    """POST /submissions (201 `{"token"}`, or the submission with `wait=true`)."""

    def __init__(self, judge0: Judge0) -> None:
        self.judge0 = judge0

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        service = self.judge0.service
        with judge0_errors():
            caller = self.judge0.caller(req, "submit")
            wait = _true(req.get_param("wait"))
            fields = requested_fields(req.get_param("fields"))
            body, asked = self.judge0.native(read_json(req, service.api.max_body_bytes), req)
            (record,) = service.submit_many(caller, [body], compat=[asked])
        resp.status = falcon.HTTP_201
        if not wait:
            resp.media = {"token": record.id}
            return
        with judge0_errors():
            record = service.wait(record, service.api.max_wait_s)
        resp.media = self.judge0.view(req, record, fields)


class Submission:
    """GET /submissions/{token}; DELETE answers as Judge0 does with deletion disabled."""

    def __init__(self, judge0: Judge0) -> None:
        self.judge0 = judge0

    def on_get(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        with judge0_errors():
            caller = self.judge0.caller(req, "read")
            fields = requested_fields(req.get_param("fields"))
            record = self.judge0.service.visible(caller, token)
        resp.media = self.judge0.view(req, record, fields)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, token: str) -> None:
        with judge0_errors():
            self.judge0.caller(req, "submit")
        raise bad_request("delete not allowed")


class Batch:
    """POST /submissions/batch (per-item tokens or field errors) and GET ?tokens=a,b."""

    def __init__(self, judge0: Judge0) -> None:
        self.judge0 = judge0

    def _size(self, count: int) -> None:
        limit = self.judge0.service.api.max_batch
        if count > limit:
            raise bad_request(f"number of submissions in a batch should be less than or equal to {limit}")
        if count == 0:
            raise bad_request("there should be at least one submission in a batch")

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        service = self.judge0.service
        with judge0_errors():
            caller = self.judge0.caller(req, "submit")
            raw = read_json(req, service.api.max_body_bytes)
            items = raw.get("submissions") if isinstance(raw, Mapping) else None
            self._size(len(items) if isinstance(items, list) else 0)
            assert isinstance(items, list)
            answers: list[Any] = []
            accepted: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
            for item in items:  # Judge0 saves the valid ones and reports the others
                try:
                    body, asked = self.judge0.native(item, req)
                    service.validate(body)
                except FieldErrors as exc:
                    answers.append(exc.errors)
                    continue
                except errors.APIError as exc:
                    answers.append(translate(exc).body)
                    continue
                accepted.append((len(answers), body, asked))
                answers.append(None)
            if accepted:
                bodies: list[object] = [body for _, body, _ in accepted]
                records = service.submit_many(caller, bodies, batch=True, compat=[a for _, _, a in accepted])
                for (index, _, _), record in zip(accepted, records, strict=True):
                    answers[index] = {"token": record.id}
        resp.status = falcon.HTTP_201 if accepted else falcon.HTTP_422
        resp.media = answers

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        with judge0_errors():
            caller = self.judge0.caller(req, "read")
            fields = requested_fields(req.get_param("fields"))
            raw = req.get_header("tokens") or ",".join(req.get_param_as_list("tokens") or [])
            tokens = [t.strip() for t in raw.split(",") if t.strip()]
            self._size(len(tokens))
            views: list[dict[str, Any] | None] = []
            for token in tokens:
                try:
                    views.append(self.judge0.view(req, self.judge0.service.visible(caller, token), fields))
                except falcon.HTTPError as exc:
                    if exc.status != falcon.HTTP_404:
                        raise
                    views.append(None)
        resp.media = {"submissions": views}


class Languages:
    def __init__(self, judge0: Judge0, archived: bool = False) -> None:
        self.body = [summary(entry, archived=archived) for entry in judge0.languages.values()]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body


class Language:
    def __init__(self, judge0: Judge0) -> None:
        self.judge0 = judge0

    def on_get(self, req: falcon.Request, resp: falcon.Response, language_id: str) -> None:
        entry = self.judge0.languages.get(int(language_id)) if language_id.isdigit() else None
        if entry is None:
            raise not_found()
        resp.media = detail(entry, self.judge0.service.policy)


class Statuses:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = statuses.listing(_true(req.get_param(statuses.EXTENDED_PARAM)))


class About:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {
            "version": JUDGE0_VERSION,  # the Judge0 API this is compatible with (the SDK keys its ids on it)
            "homepage": HOMEPAGE,
            "source_code": HOMEPAGE,
            "maintainer": "KodeWar (Judge0 CE 1.13.1 compatible API)",
        }


class Version:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = JUDGE0_VERSION


class ConfigInfo:
    """Judge0's config_info keys with this server's values (the SDK requires every key)."""

    def __init__(self, judge0: Judge0) -> None:
        service = judge0.service
        defaults, maxima = service.policy.defaults, service.policy.maxima
        self.body = {
            "maintenance_mode": False,
            "enable_wait_result": True,
            "enable_compiler_options": True,
            "allowed_languages_for_compile_options": [],
            "enable_command_line_arguments": True,
            "enable_submission_delete": False,
            "enable_callbacks": True,
            "callbacks_max_tries": service.queue.webhook_retries + 1,
            "callbacks_timeout": service.queue.webhook_timeout_s,
            "enable_additional_files": True,
            "max_queue_size": service.api.max_queue_depth,
            "cpu_time_limit": defaults.cpu_time_s,
            "max_cpu_time_limit": maxima.cpu_time_s,
            "cpu_extra_time": DEFAULT_CPU_EXTRA_TIME_S,
            "max_cpu_extra_time": maxima.cpu_extra_time_s,
            "wall_time_limit": defaults.wall_time_s,
            "max_wall_time_limit": maxima.wall_time_s,
            "memory_limit": defaults.memory_mb * 1024,
            "max_memory_limit": maxima.memory_mb * 1024,
            "stack_limit": defaults.stack_mb * 1024,
            "max_stack_limit": maxima.stack_mb * 1024,
            "max_processes_and_or_threads": defaults.max_processes,
            "max_max_processes_and_or_threads": maxima.max_processes,
            "enable_per_process_and_thread_time_limit": False,
            "allow_enable_per_process_and_thread_time_limit": False,
            "enable_per_process_and_thread_memory_limit": False,
            "allow_enable_per_process_and_thread_memory_limit": False,
            "max_file_size": defaults.max_file_size_kib,
            "max_max_file_size": min(maxima.max_file_size_kib, maxima.max_output_kib),
            "number_of_runs": 1,
            "max_number_of_runs": service.caps.max_runs,
            "redirect_stderr_to_stdout": False,
            "max_extract_size": MAX_EXTRACT_BYTES // 1024,
            "enable_batched_submissions": True,
            "max_submission_batch_size": service.api.max_batch,
            "submission_cache_duration": 0.0,
            "use_docs_as_homepage": False,
            "allow_enable_network": False,
            "enable_network": False,
        }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.body


class Workers:
    """Judge0's per-queue worker summary, from the workers' heartbeats."""

    def __init__(self, judge0: Judge0) -> None:
        self.judge0 = judge0

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        service = self.judge0.service
        with judge0_errors():
            self.judge0.caller(req, "read")
        queues: dict[str, dict[str, int]] = {}
        for beat in service.store.workers():
            slots, busy = int(beat.get("slots", 0)), int(beat.get("busy", 0))
            for queue in beat.get("queues") or []:
                entry = queues.setdefault(str(queue), {"available": 0, "working": 0})
                entry["available"] += slots
                entry["working"] += busy
        resp.media = [
            {
                "queue": queue,
                "size": service.store.queue_depth([service.queue.queue_key(queue)]),
                "available": entry["available"],
                "idle": max(0, entry["available"] - entry["working"]),
                "working": entry["working"],
                "paused": 0,
                "failed": 0,
            }
            for queue, entry in sorted(queues.items())
        ]


def add_routes(app: falcon.App, service: SubmissionService, authority: TokenAuthority) -> None:
    judge0 = Judge0(service, authority)
    submissions = Submission(judge0)
    app.add_route(PREFIX + "/submissions", Submissions(judge0))
    app.add_route(PREFIX + "/submissions/batch", Batch(judge0))
    app.add_route(PREFIX + "/submissions/{token}", submissions)
    app.add_route(PREFIX + "/languages", Languages(judge0))
    app.add_route(PREFIX + "/languages/all", Languages(judge0, archived=True))
    app.add_route(PREFIX + "/languages/{language_id}", Language(judge0))
    app.add_route(PREFIX + "/statuses", Statuses())
    app.add_route(PREFIX + "/about", About())
    app.add_route(PREFIX + "/version", Version())
    app.add_route(PREFIX + "/config_info", ConfigInfo(judge0))
    app.add_route(PREFIX + "/workers", Workers(judge0))
