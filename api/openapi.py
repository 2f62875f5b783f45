"""The OpenAPI 3.0.3 document of what this app serves, built from the live service so it cannot drift.

Enums (languages, statuses, modes, checker kinds), limit ranges, size caps, batch sizes and the
long-poll cap are read from the service's registry, LimitPolicy, SizeCaps and ApiConfig; the scope
each operation needs is read from the resource classes' ``scopes``. Error bodies are api.errors'.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

import falcon

from api import resources
from api.metrics import MetricsResource
from api.openapi_schemas import Schema, Served, closed, error_responses, errors_for, ref, schemas
from api.service import SubmissionService

FALLBACK_VERSION = "0.1.0"  # when the package metadata is not installed (running from a checkout)
BEARER = "bearerAuth"
SUBMIT_ERRORS = ("BadRequest", "TooLarge", "UnsupportedMediaType", "Invalid", "RateLimited", "Unavailable")


def wait_parameter(max_wait_s: float) -> Schema:
    return {
        "name": "wait",
        "in": "query",
        "required": False,
        "description": (
            f"Long-poll until the submission is finished: true waits up to {max_wait_s:g} s, "
            "a number waits that many seconds; false, 0 or absent answer at once."
        ),
        "schema": {
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "enum": ["yes", "no"]},
                {"type": "number", "minimum": 0, "maximum": max_wait_s},
            ]
        },
    }


def json_response(description: str, schema: Schema, headers: Schema | None = None) -> Schema:
    response: Schema = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def operation(
    resource: type,
    method: str,
    operation_id: str,
    summary: str,
    responses: Schema,
    *,
    description: str = "",
    parameters: list[Schema] | None = None,
    body: str | None = None,
) -> Schema:
    """An operation; one whose resource names a scope for the method gets bearer security, 401 and 403."""
    scope = getattr(resource, "scopes", {}).get(method)
    op: Schema = {"operationId": operation_id, "summary": summary, "responses": dict(responses), "security": []}
    if scope is not None:
        op["security"] = [{BEARER: []}]
        op["x-required-scope"] = scope
        description = f"Needs a token with the `{scope}` (or `admin`) scope. {description}".strip()
        op["responses"].update(errors_for("Unauthorized", "Forbidden"))
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return op


def paths(served: Served) -> Schema:
    api = served.api
    wait = wait_parameter(api.max_wait_s)
    location = {"Location": {"required": True, "schema": {"type": "string"}, "description": "The submission's URL."}}
    submission = ref("Submission")
    ids = {
        "name": "ids",
        "in": "query",
        "required": True,
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": api.max_batch_ids},
        "description": f"Comma-separated submission ids, at most {api.max_batch_ids}.",
    }
    submission_id_query = {"name": "submission_id", "in": "query", "required": True, "schema": {"type": "string"}}
    submission_id_path = {"name": "submission_id", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/api/v1/submissions": {
            "post": operation(
                resources.Submissions,
                "POST",
                "createSubmission",
                "Submit code",
                {
                    "200": json_response("Finished within `wait`.", submission, location),
                    "202": json_response("Queued or running.", submission, location),
                    **errors_for(*SUBMIT_ERRORS),
                },
                description="With `wait`, answers 200 if it finished in time, else 202.",
                parameters=[wait],
                body="SubmissionRequest",
            )
        },
        "/api/v1/submissions/batch": {
            "post": operation(
                resources.Batch,
                "POST",
                "createBatch",
                "Submit several: all are queued, or none when one is invalid",
                {"202": json_response("All queued.", ref("BatchAccepted")), **errors_for(*SUBMIT_ERRORS)},
                body="BatchRequest",
            ),
            "get": operation(
                resources.Batch,
                "GET",
                "getBatch",
                "Read several submissions",
                {"200": json_response("One entry per id.", ref("Submissions")), **errors_for("Invalid", "Unavailable")},
                parameters=[ids],
            ),
        },
        "/api/v1/submissions/{submission_id}": {
            "get": operation(
                resources.Submissions,
                "GET",
                "getSubmission",
                "Read a submission",
                {
                    "200": json_response("Finished: the result is included.", submission),
                    "202": json_response("Queued or running.", submission),
                    **errors_for("NotFound", "Invalid", "Unavailable"),
                },
                parameters=[submission_id_path, wait],
            )
        },
        "/api/v1/languages": {
            "get": operation(
                resources.Languages,
                "GET",
                "listLanguages",
                "Languages this deployment runs",
                {"200": json_response("The registry.", {"type": "array", "items": ref("Language")})},
            )
        },
        "/api/v1/statuses": {
            "get": operation(
                resources.Statuses,
                "GET",
                "listStatuses",
                "Status ids: Judge0's numbering plus 15-17",
                {"200": json_response("Every status.", {"type": "array", "items": ref("Status")})},
            )
        },
        "/api/v1/workers": {
            "get": operation(
                resources.Workers,
                "GET",
                "listWorkers",
                "Live workers and their slots",
                {"200": json_response("Workers with a fresh heartbeat.", ref("Workers")), **errors_for("Unavailable")},
            )
        },
        "/api/submit/": {
            "post": operation(
                resources.SeedSubmit,
                "POST",
                "seedSubmit",
                "Submit code (the seed's endpoint)",
                {"202": json_response("Queued.", ref("Accepted")), **errors_for(*SUBMIT_ERRORS)},
                body="SubmissionRequest",
            )
        },
        "/api/status/": {
            "get": operation(
                resources.SeedStatus,
                "GET",
                "seedStatus",
                "Read a submission (the seed's endpoint)",
                {
                    "200": json_response("The submission, with its result once finished.", submission),
                    **errors_for("NotFound", "Invalid", "Unavailable"),
                },
                parameters=[submission_id_query],
            )
        },
        "/healthz": {
            "get": operation(
                resources.Health,
                "GET",
                "health",
                "Liveness",
                {"200": json_response("Serving.", closed(status={"type": "string", "enum": ["ok"]}))},
            )
        },
        "/readyz": {
            "get": operation(
                resources.Ready,
                "GET",
                "ready",
                "Readiness: the store answers and a worker is alive",
                {
                    "200": json_response(
                        "Ready.",
                        closed(status={"type": "string", "enum": ["ready"]}, workers={"type": "integer", "minimum": 1}),
                    ),
                    **errors_for("Unavailable"),
                },
            )
        },
        "/metrics": {
            "get": operation(
                MetricsResource,
                "GET",
                "metrics",
                "Prometheus metrics",
                {
                    "200": {
                        "description": "Prometheus text exposition format.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            )
        },
        "/openapi.json": {
            "get": operation(
                OpenAPIResource,
                "GET",
                "openapi",
                "This document",
                {"200": json_response("OpenAPI 3.0.3.", {"type": "object"})},
            )
        },
    }


def version() -> str:
    try:
        return metadata.version("kodewar")
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


def document(served: Served) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "KodeWar API",
            "version": version(),
            "description": "Runs untrusted code against test cases in rootless Podman sandboxes.",
        },
        "servers": [{"url": served.api.public_url}],
        "paths": paths(served),
        "components": {
            "schemas": schemas(served),
            "responses": error_responses(served.api.max_body_bytes),
            "securitySchemes": {BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def build_document(service: SubmissionService) -> dict[str, Any]:
    return document(Served.of(service))


class OpenAPIResource:
    def __init__(self, service: SubmissionService) -> None:
        self.document: Mapping[str, Any] = build_document(service)

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.document
