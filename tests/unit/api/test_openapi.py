"""The OpenAPI document: valid, complete (every served route and method), derived from the service's
registry and policy, and describing exactly what the app answers, error shapes included."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import falcon.inspect
import pytest
import schemathesis
import werkzeug.test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.compat import COMPAT_PREFIXES
from api.config import ApiConfig
from api.openapi import build_document, document
from api.openapi_schemas import Served
from sandbox.checkers import CHECKER_KINDS
from sandbox.limits import JUDGE0_MAXIMA, MINIMA, LimitPolicy, Limits
from sandbox.modes import MODES
from sandbox.statuses import Status
from sandbox.submission import SizeCaps
from tests.unit.api.fakes import Harness, make_harness, registry
from tests.unit.api.helpers import SEED, finished_result

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
METHODS = ("get", "post", "put", "patch", "delete")


def served_routes(app: falcon.App) -> set[tuple[str, str]]:
    """Native routes; the Judge0 and Piston compat routes follow those systems' documents instead."""
    return {
        (route.path, method.method.lower())
        for route in falcon.inspect.inspect_routes(app)
        for method in route.methods
        if not method.internal and not route.path.startswith(COMPAT_PREFIXES)
    }


def documented_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in doc["paths"].items() for method in item if method in METHODS}


def test_the_document_is_valid_openapi_3_0(harness: Harness) -> None:
    doc = harness.client.simulate_get("/openapi.json").json
    assert doc["openapi"] == "3.0.3"
    schemathesis.openapi.from_dict(doc).validate()


def test_every_served_route_and_method_is_documented_and_nothing_else(harness: Harness) -> None:
    doc = harness.client.simulate_get("/openapi.json").json
    assert documented_routes(doc) == served_routes(harness.app)


def test_operations_that_need_a_token_say_so_and_the_others_do_not(harness: Harness) -> None:
    doc = build_document(harness.service)
    harness.store.fleet = [{"worker_id": "w", "slots": 1}]
    for path, method in documented_routes(doc):
        op = doc["paths"][path][method]
        anonymous = harness.client.simulate_request(method.upper(), path.replace("{submission_id}", "x"))
        if op["security"]:
            assert anonymous.status_code == 401, (method, path)
            assert {"401", "403"} <= set(op["responses"]) and op["x-required-scope"] in {"submit", "read"}
        else:
            assert anonymous.status_code in (200, 202), (method, path, anonymous.status_code)
            assert "401" not in op["responses"]


def test_enums_and_ranges_come_from_the_registry_and_the_policy() -> None:
    maxima = replace(JUDGE0_MAXIMA, memory_mb=2048, cpu_time_s=30.0)
    served = Served(
        registry(),
        LimitPolicy(maxima=maxima),
        SizeCaps(max_tests=5, max_code_bytes=100),
        ApiConfig(max_batch=3, max_batch_ids=7, max_wait_s=2.5),
    )
    doc = document(served)
    schemas = doc["components"]["schemas"]
    request = schemas["SubmissionRequest"]["properties"]
    assert request["language"]["enum"] == sorted(registry())
    assert schemas["Language"]["properties"]["language"]["enum"] == sorted(registry())
    limits = request["limits"]["properties"]
    assert set(limits) == set(Limits().as_dict())
    assert limits["memory_mb"] == {
        "type": "integer",
        "minimum": MINIMA.memory_mb,
        "maximum": 2048,
        "default": 128,
        "nullable": True,
    }
    assert limits["cpu_time_s"]["type"] == "number" and limits["cpu_time_s"]["maximum"] == 30.0
    assert request["test_cases"]["maxItems"] == 5 and request["code"]["maxLength"] == 100
    assert request["mode"]["enum"] == list(MODES)
    assert request["checker"]["oneOf"][0]["enum"] == list(CHECKER_KINDS)
    assert schemas["BatchRequest"]["properties"]["submissions"]["maxItems"] == 3
    batch_get = doc["paths"]["/api/v1/submissions/batch"]["get"]["parameters"][0]
    assert batch_get["schema"]["maxItems"] == 7
    wait = doc["paths"]["/api/v1/submissions"]["post"]["parameters"][0]["schema"]["anyOf"]
    assert wait[-1]["maximum"] == 2.5
    assert schemas["Status"]["properties"]["id"]["enum"] == [int(s) for s in Status]
    assert schemas["Status"]["properties"]["description"]["enum"] == [s.description for s in Status]


def test_the_result_fields_are_exactly_what_a_worker_writes() -> None:
    doc = document(Served(registry(), LimitPolicy(), SizeCaps(), ApiConfig()))
    schemas = doc["components"]["schemas"]
    result = finished_result()
    binary = {"stdout_base64", "stderr_base64"}  # present only for output that is not UTF-8
    assert set(schemas["TestResult"]["required"]) == set(result["tests"][0])
    assert set(schemas["TestResult"]["properties"]) == set(result["tests"][0]) | binary
    base = set(schemas["Submission"]["required"])
    assert set(schemas["Submission"]["properties"]) == base | set(result) | {"compile_output_base64"}


# -- the app's answers against its own document ---------------------------------------------------------


@pytest.fixture
def small() -> Harness:
    return make_harness(api=ApiConfig(max_body_bytes=2048, rate_limit_per_minute=2, max_wait_s=0.5))


def call(harness: Harness, path: str, method: str, *, auth: bool = True, **case: Any) -> Any:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", harness.app)
    headers = harness.auth("alice", ("submit", "read")) if auth else {}
    return schema[path][method].Case(**case).call_and_validate(app=harness.app, headers=headers, checks=CHECKS)


def test_submission_shapes_conform(small: Harness) -> None:
    queued = call(small, "/api/v1/submissions", "POST", body=SEED)
    submission_id = queued.json()["submission_id"]
    small.store.finish(submission_id, Status.RUNTIME_ERROR_SIGSEGV, finished_result())
    one = {"submission_id": submission_id}
    assert call(small, "/api/v1/submissions/{submission_id}", "GET", path_parameters=one).status_code == 200
    assert call(small, "/api/status/", "GET", query={"submission_id": submission_id}).status_code == 200
    many = call(small, "/api/v1/submissions/batch", "GET", query={"ids": [submission_id, "gone"]})
    assert many.json()["submissions"][1] is None
    small.dispatcher.worker = lambda sid: small.store.finish(sid, Status.ACCEPTED, finished_result())
    assert call(small, "/api/v1/submissions", "POST", body=SEED, query={"wait": "true"}).status_code == 200


def test_client_error_shapes_conform(small: Harness) -> None:
    """Each documented 4xx with its body and headers (WWW-Authenticate on 401)."""
    path = "/api/v1/submissions"
    assert call(small, path, "POST", body=SEED, auth=False).status_code == 401
    unknown = {"submission_id": "00000000-0000-0000-0000-000000000000"}
    assert call(small, "/api/v1/submissions/{submission_id}", "GET", path_parameters=unknown).status_code == 404
    assert call(small, path, "POST", body={**SEED, "language": "cobol"}).status_code == 422
    assert call(small, path, "POST", body={**SEED, "code": "x" * 4096}).status_code == 413
    assert call(small, path, "POST", body="code", media_type="text/plain").status_code == 415
    malformed = werkzeug.test.Client(small.app).post(
        path, data="{", headers={**small.auth(), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    operation = schemathesis.openapi.from_wsgi("/openapi.json", small.app)[path]["POST"]
    assert "400" in operation.definition.raw["responses"]  # validate_response skips undocumented codes
    operation.validate_response(malformed)


def test_backpressure_shapes_conform(small: Harness) -> None:
    """429 and 503 carry Retry-After and the Error body."""
    assert [call(small, "/api/submit/", "POST", body=SEED).status_code for _ in range(3)] == [202, 202, 429]
    fresh = make_harness()
    fresh.store.depth = fresh.service.api.max_queue_depth
    assert call(fresh, "/api/v1/submissions/batch", "POST", body={"submissions": [SEED]}).status_code == 503
    assert call(fresh, "/readyz", "GET", auth=False).status_code == 503


def test_forbidden_conforms(small: Harness) -> None:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", small.app)
    case = schema["/api/v1/workers"]["GET"].Case()
    answer = case.call_and_validate(app=small.app, headers=small.auth(scopes=("submit",)), checks=CHECKS)
    assert answer.status_code == 403


def test_public_operations_conform(harness: Harness) -> None:
    for path in ("/healthz", "/api/v1/languages", "/api/v1/statuses", "/metrics", "/openapi.json"):
        call(harness, path, "GET", auth=False)
    harness.store.fleet = [{"worker_id": "w1", "slots": 2, "busy": 1, "languages": ["python"]}]
    assert call(harness, "/readyz", "GET", auth=False).status_code == 200
    assert call(harness, "/api/v1/workers", "GET").json()["total_slots"] == 2
