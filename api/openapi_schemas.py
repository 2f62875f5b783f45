"""The component schemas and error responses of the OpenAPI document (api.openapi assembles them).

Each schema names the code whose output it describes; enums and ranges come from ``Served``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from api.config import ApiConfig
from api.service import MAX_CALLBACK_URL_CHARS, SubmissionService
from sandbox.archive import MAX_ARCHIVE_BYTES
from sandbox.checkers import CHECKER_KINDS
from sandbox.extras import COMPILER_OPTION, MAX_ARGS, MAX_COMPILER_OPTIONS
from sandbox.languages import Language
from sandbox.limits import MINIMA, LimitPolicy, Limits
from sandbox.modes import FUNCTION_NAME, MODES
from sandbox.statuses import Status
from sandbox.submission import _IDENTIFIER, SizeCaps

Schema = dict[str, Any]
FUNCTION_NAME_PATTERN = f"^(?:{_IDENTIFIER.pattern})$"  # build_submission fullmatches _IDENTIFIER


@dataclass(frozen=True)
class Served:
    """What the document is derived from: the service's registry, limit policy, size caps and API settings."""

    registry: Mapping[str, Language]
    policy: LimitPolicy
    caps: SizeCaps
    api: ApiConfig

    @classmethod
    def of(cls, service: SubmissionService) -> Served:
        return cls(service.registry, service.policy, service.caps, service.api)


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """OpenAPI 3.0 ignores siblings of $ref, so a nullable reference goes through allOf."""
    if "$ref" in schema:
        return {"allOf": [schema], "nullable": True}
    return {**schema, "nullable": True}


def closed(**properties: Schema) -> Schema:
    """An object with exactly these properties, all required."""
    return {"type": "object", "required": list(properties), "properties": properties, "additionalProperties": False}


def text_or_number(description: str) -> Schema:
    """Test inputs and outputs are strings; numbers are accepted and turned into their decimal text."""
    return {"anyOf": [{"type": "string"}, {"type": "number"}], "description": description}


# -- schemas ----------------------------------------------------------------------------------------


def limits_schema(policy: LimitPolicy) -> Schema:
    properties: Schema = {}
    for f in fields(Limits):
        integer = f.type in (int, "int")
        properties[f.name] = {
            "type": "integer" if integer else "number",
            "minimum": getattr(MINIMA, f.name),
            "maximum": getattr(policy.maxima, f.name),
            "default": getattr(policy.defaults, f.name),
            "nullable": True,
        }
    return {
        "type": "object",
        "description": "Per-run limits; omitted or null ones take the default. Compilation runs at fixed maxima.",
        "properties": properties,
        "additionalProperties": False,
    }


def checker_schema() -> Schema:
    kinds = list(CHECKER_KINDS)
    tolerance: Schema = {"type": "number", "minimum": 0}
    return {
        "description": "How outputs are compared: a kind name, or an object with tolerances for `float`/`value`.",
        "nullable": True,
        "oneOf": [
            {"type": "string", "enum": kinds},
            {
                "type": "object",
                "properties": {"kind": {"type": "string", "enum": kinds}, "abs_tol": tolerance, "rel_tol": tolerance},
                "additionalProperties": False,
            },
        ],
    }


def submission_request_schema(served: Served) -> Schema:
    caps: SizeCaps = served.caps
    test_case: Schema = {
        "type": "object",
        "properties": {
            "input": text_or_number('stdin in stdio mode; the argument list in function mode (`"1, [2, 3]"`).'),
            "expected": nullable(text_or_number("Expected output; null or absent: a clean run is Accepted.")),
            "expected_output": nullable(text_or_number("Alias of `expected`.")),
        },
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["code", "language"],
        "properties": {
            "code": {
                "type": "string",
                "minLength": 1,
                "maxLength": caps.max_code_bytes,
                "description": f"Source code: not blank, no NUL, at most {caps.max_code_bytes} bytes of UTF-8.",
            },
            "language": {
                "type": "string",
                "enum": sorted(served.registry),
                "description": "A key of GET /api/v1/languages (case-insensitive).",
            },
            "test_cases": nullable(
                {
                    "type": "array",
                    "items": test_case,
                    "minItems": 1,
                    "maxItems": caps.max_tests,
                    "description": (
                        f"Each input at most {caps.max_test_input_bytes} bytes; all inputs and expected "
                        f"outputs together at most {caps.max_total_input_bytes} bytes. Absent: one test "
                        "made of `stdin` and `expected_output`."
                    ),
                }
            ),
            "stdin": nullable({"type": "string", "description": "Input of the single test when test_cases is absent."}),
            "expected_output": nullable(text_or_number("Expected output of the single test (Judge0's field).")),
            "limits": nullable(limits_schema(served.policy)),
            "mode": nullable(
                {
                    "type": "string",
                    "enum": list(MODES),
                    "description": "Absent: `function` when the code defines a top-level solution, else `stdio`.",
                }
            ),
            "checker": checker_schema(),
            "function_name": {"type": "string", "pattern": FUNCTION_NAME_PATTERN, "default": FUNCTION_NAME},
            "args": nullable(
                {
                    "type": "array",
                    "items": {"type": "string"},
                    "maxItems": MAX_ARGS,
                    "description": "Command-line arguments of every run (stdio mode).",
                }
            ),
            "compiler_options": nullable(
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": f"^{COMPILER_OPTION.pattern}$"},
                    "maxItems": MAX_COMPILER_OPTIONS,
                    "description": "Extra compiler flags; flags that load or run other programs are refused.",
                }
            ),
            "additional_files": nullable(
                {
                    "type": "string",
                    "format": "byte",
                    "maxLength": (MAX_ARCHIVE_BYTES * 4) // 3 + 4,
                    "description": "A base64 zip unpacked into the work dir beside the source.",
                }
            ),
            "redirect_stderr_to_stdout": nullable({"type": "boolean"}),
            "number_of_runs": nullable({"type": "integer", "minimum": 1, "maximum": served.caps.max_runs}),
            "callback_url": nullable(
                {
                    "type": "string",
                    "format": "uri",
                    "maxLength": MAX_CALLBACK_URL_CHARS,
                    "description": "http(s) URL that receives the finished submission by POST (public hosts only).",
                }
            ),
        },
        "additionalProperties": False,
    }


def status_schema() -> Schema:
    return closed(
        id={"type": "integer", "enum": [int(s) for s in Status]},
        description={"type": "string", "enum": [s.description for s in Status]},
    )


def per_test_schema() -> Schema:
    """sandbox.result.TestResult.as_dict."""
    seconds: Schema = {"type": "number", "minimum": 0}
    schema = closed(
        index={"type": "integer", "minimum": 0},
        status=ref("Status"),
        passed={"type": "boolean"},
        time={**seconds, "description": "CPU seconds."},
        wall_time={**seconds, "description": "Wall-clock seconds."},
        memory={"type": "integer", "minimum": 0, "description": "Peak resident KiB."},
        exit_code={"type": "integer", "nullable": True},
        signal={"type": "integer", "nullable": True},
        stdout={"type": "string"},
        stdout_truncated={"type": "boolean"},
        stderr={"type": "string"},
        stderr_truncated={"type": "boolean"},
        message={"type": "string", "nullable": True},
    )
    schema["properties"].update(  # optional: only when the bytes are not UTF-8
        stdout_base64={"type": "string", "format": "byte", "description": "Only when stdout is not UTF-8."},
        stderr_base64={"type": "string", "format": "byte", "description": "Only when stderr is not UTF-8."},
    )
    return schema


def submission_schema() -> Schema:
    """actors.store.Record.public_view: the base fields always, sandbox.result.Result's once finished."""
    count: Schema = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "required": ["submission_id", "status", "language", "created_at", "finished_at"],
        "properties": {
            "submission_id": {"type": "string", "format": "uuid"},
            "status": ref("Status"),
            "language": {"type": "string", "description": "As sent in the request."},
            "created_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": "string", "format": "date-time", "nullable": True},
            "compile_output": {"type": "string", "description": "Finished only."},
            "compile_output_truncated": {"type": "boolean"},
            "compile_output_base64": {"type": "string", "format": "byte", "description": "Only when not UTF-8."},
            "message": {"type": "string", "nullable": True, "description": "Why it failed before running tests."},
            "passed": count,
            "total": count,
            "time": {"type": "number", "minimum": 0, "description": "The slowest test's CPU seconds."},
            "wall_time": {"type": "number", "minimum": 0},
            "memory": {"type": "integer", "minimum": 0, "description": "The largest peak KiB of any test."},
            "tests": {"type": "array", "items": ref("TestResult")},
        },
        "additionalProperties": False,
    }


def error_schema() -> Schema:
    """api.errors.error_body."""
    return {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "Machine-readable code, e.g. `invalid`, `unauthorized`."},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "The offending request field (422), e.g. `limits.memory_mb`."},
        },
        "additionalProperties": False,
    }


def language_schema(served: Served) -> Schema:
    """api.resources.Languages."""
    return closed(
        language={"type": "string", "enum": sorted(served.registry)},
        name={"type": "string"},
        version={"type": "string"},
        compiled={"type": "boolean"},
        function_mode={"type": "boolean"},
    )


def worker_schema() -> Schema:
    """A worker's heartbeat (actors.worker.WorkerRuntime.heartbeat_info); informational, may grow."""
    return {
        "type": "object",
        "required": ["worker_id"],
        "properties": {
            "worker_id": {"type": "string"},
            "host": {"type": "string"},
            "pid": {"type": "integer"},
            "slots": {"type": "integer", "minimum": 0},
            "busy": {"type": "integer", "minimum": 0},
            "languages": {"type": "array", "items": {"type": "string"}},
            "queues": {"type": "array", "items": {"type": "string"}},
            "started_at": {"type": "number"},
            "last_heartbeat": {"type": "number"},
        },
    }


def schemas(served: Served) -> Schema:
    accepted = closed(submission_id={"type": "string", "format": "uuid"}, status=ref("Status"))
    return {
        "SubmissionRequest": submission_request_schema(served),
        "BatchRequest": {
            "type": "object",
            "required": ["submissions"],
            "properties": {
                "submissions": {
                    "type": "array",
                    "items": ref("SubmissionRequest"),
                    "minItems": 1,
                    "maxItems": served.api.max_batch,
                }
            },
        },
        "Accepted": accepted,
        "BatchAccepted": closed(submissions={"type": "array", "items": ref("Accepted")}),
        "Submission": submission_schema(),
        "Submissions": closed(
            submissions={
                "type": "array",
                "items": nullable(ref("Submission")),
                "description": "In the order asked; null for an id that is unknown or not yours.",
            }
        ),
        "TestResult": per_test_schema(),
        "Status": status_schema(),
        "Error": error_schema(),
        "Language": language_schema(served),
        "Worker": worker_schema(),
        "Workers": closed(
            workers={"type": "array", "items": ref("Worker")}, total_slots={"type": "integer", "minimum": 0}
        ),
    }


# -- error responses --------------------------------------------------------------------------------

RETRY_AFTER: Schema = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def error_responses(api_max_body_bytes: int) -> Schema:
    def error(description: str, headers: Schema | None = None) -> Schema:
        response: Schema = {"description": description, "content": {"application/json": {"schema": ref("Error")}}}
        if headers:
            response["headers"] = headers
        return response

    www_authenticate = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return {
        "BadRequest": error("Malformed JSON (`bad_request`)."),
        "Unauthorized": error("Missing, malformed or expired bearer token (`unauthorized`).", www_authenticate),
        "Forbidden": error("The token lacks the scope this operation needs (`forbidden`)."),
        "NotFound": error("No such submission, or it belongs to another subject (`not_found`)."),
        "TooLarge": error(f"The body is over {api_max_body_bytes} bytes (`too_large`)."),
        "UnsupportedMediaType": error("The body is not application/json (`unsupported_media_type`)."),
        "Invalid": error("A field is invalid (`invalid`); `field` names it."),
        "RateLimited": error(
            "Too many submissions this minute for this subject (`rate_limited`).", {"Retry-After": RETRY_AFTER}
        ),
        "Unavailable": error(
            "The store or queue is unavailable, or the queue is full (`unavailable`).", {"Retry-After": RETRY_AFTER}
        ),
    }


ERROR_STATUSES = {
    "BadRequest": "400",
    "Unauthorized": "401",
    "Forbidden": "403",
    "NotFound": "404",
    "TooLarge": "413",
    "UnsupportedMediaType": "415",
    "Invalid": "422",
    "RateLimited": "429",
    "Unavailable": "503",
}


def errors_for(*names: str) -> Schema:
    """Response entries (status -> $ref) for the named error responses."""
    return {ERROR_STATUSES[name]: {"$ref": f"#/components/responses/{name}"} for name in names}
