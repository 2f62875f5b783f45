"""The API against its own /openapi.json, property-based (schemathesis), on a real Redis.

The app is the one gunicorn serves, built by the composition root (real store, real Dramatiq
dispatcher) and called in-process through WSGI. No worker runs: submissions stay In Queue, and the
finished shape is checked by writing a result into the store the way a worker does.

The document is built at import from the same settings, because pytest parametrizes at collection
time (schemathesis' lazy fixture loader does not work with this pytest); the first test proves the
app serves exactly that document.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import falcon
import falcon.testing
import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from actors.store import SubmissionStore
from api.app import create_app
from api.openapi import document
from api.openapi_schemas import Served
from kodewar.settings import Settings, load_settings
from kodewar.wiring import api_dependencies, ensure_secret, token_authority
from sandbox.languages import load_registry
from sandbox.result import Output, Result
from sandbox.result import TestResult as RunResult
from sandbox.statuses import Status


def no_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No 5xx, except the designed back-pressure answer: 503 `unavailable` (no worker, queue full, store down).

    status_code_conformance then requires the 503 to be documented for the operation, and the header and
    schema checks require its Retry-After and Error body.
    """
    if response.status_code == 503:
        try:
            if response.json().get("error") == "unavailable":
                return None
        except (ValueError, AttributeError):
            pass
    return not_a_server_error(ctx, response, case)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 40  # per operation; with the coverage phase the whole run takes about a minute
SETTINGS_ENV = {
    "KODEWAR_MAX_WAIT_S": "0.2",  # the long-poll cap: `wait=true` must not hold a test for 30 s with no worker
    # Generated callback URLs are checked without resolving their hosts: no DNS query leaves this machine.
    "KODEWAR_WEBHOOK_ALLOW_PRIVATE": "true",
}
REDIS_START_TIMEOUT_S = 10.0
LANGUAGE = "python"
SEED_EXAMPLE = {
    "code": "def solution(x): return x * 2",
    "language": LANGUAGE,
    "test_cases": [{"input": "2", "expected": "4"}],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kodewar-contract")


@pytest.fixture(scope="module")
def redis_url(state_dir: Path) -> Iterator[str]:
    """A private redis-server on a free loopback port, with a password, gone after the module."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("the API contract test needs redis-server (apt-get install redis-server)")
    port = free_port()
    password = "contract-" + os.urandom(8).hex()
    (state_dir / "redis.password").write_text(password + "\n")
    conf = state_dir / "redis.conf"
    conf.write_text(
        f'port {port}\nbind 127.0.0.1\ndir {state_dir}\nsave ""\nappendonly no\n'
        f"maxmemory-policy noeviction\nrequirepass {password}\n"
    )
    log = open(state_dir / "redis.log", "wb")  # noqa: SIM115 (the server writes it until the end)
    process = subprocess.Popen([binary, str(conf)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2)
    deadline = time.monotonic() + REDIS_START_TIMEOUT_S
    try:
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start: {(state_dir / 'redis.log').read_text()}")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def api_settings(state_dir: Path, redis_url: str) -> Settings:
    secret = state_dir / "jwt.key"
    ensure_secret(str(secret))
    return load_settings(
        {
            "KODEWAR_STATE_DIR": str(state_dir),
            "KODEWAR_REDIS_URL": redis_url,
            "KODEWAR_REDIS_PASSWORD_FILE": str(state_dir / "redis.password"),
            "KODEWAR_JWT_SECRET_FILE": str(secret),
            **SETTINGS_ENV,
        }
    )


@pytest.fixture(scope="module")
def app(api_settings: Settings) -> falcon.App:
    return create_app(api_dependencies(api_settings))


@pytest.fixture(scope="module")
def store(api_settings: Settings) -> SubmissionStore:
    client = redis.Redis.from_url(api_settings.queue.redis_url, password=api_settings.redis_password())
    return SubmissionStore(client)


@pytest.fixture(scope="module")
def headers_for(api_settings: Settings) -> Callable[[str], dict[str, str]]:
    """Admin headers for a subject; separate subjects keep separate rate-limit budgets."""
    authority = token_authority(api_settings)

    def headers(subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {authority.issue(subject, ['admin', 'submit', 'read'], 3600)}"}

    return headers


@pytest.fixture(scope="module")
def admin_headers(headers_for: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return headers_for("contract-admin")


@pytest.fixture
def empty_queue(api_settings: Settings, store: SubmissionStore) -> Iterator[str]:
    """The execute queue's Redis list, emptied before and after: what a worker would have drained."""
    key = api_settings.queue.queue_key(api_settings.queue.execute_queue(LANGUAGE))
    store.client.delete(key, f"{key}.msgs")
    yield key
    store.client.delete(key, f"{key}.msgs")


def documented() -> dict[str, Any]:
    settings = load_settings(SETTINGS_ENV)
    return document(Served(load_registry(), settings.sandbox.policy, settings.sandbox.caps, settings.api))


DOCUMENT = documented()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_app_serves_the_document_under_test(app: falcon.App) -> None:
    served = falcon.testing.TestClient(app).simulate_get("/openapi.json")
    assert served.status_code == 200
    assert served.json == json.loads(json.dumps(DOCUMENT))
    schema.validate()  # against the OpenAPI 3.0 meta-schema


# -- the shapes random data rarely reaches: accepted, queued, finished ------------------------------------


def check(app: falcon.App, path: str, method: str, headers: dict[str, str], **case: Any) -> Any:
    """One explicit case through the same checks as the property-based run; returns the response."""
    return schema[path][method].Case(**case).call_and_validate(app=app, headers=headers, checks=CHECKS)


def finished_result() -> dict[str, object]:
    tests = (
        RunResult(Status.ACCEPTED, time=0.01, wall_time=0.02, memory=9000, exit_code=0, stdout=Output("4\n")),
        RunResult(Status.RUNTIME_ERROR_SIGSEGV, signal=11, stderr=Output("x" * 10, truncated=True), message="boom"),
    )
    return Result("python", tests).as_dict()


def test_a_submission_through_its_lifecycle_conforms(
    app: falcon.App, admin_headers: dict[str, str], store: SubmissionStore
) -> None:
    created = check(app, "/api/v1/submissions", "POST", admin_headers, body=SEED_EXAMPLE)
    assert created.status_code == 202, created.text
    submission_id = created.json()["submission_id"]
    assert created.headers["location"] == [f"/api/v1/submissions/{submission_id}"]

    queued = check(
        app,
        "/api/v1/submissions/{submission_id}",
        "GET",
        admin_headers,
        path_parameters={"submission_id": submission_id},
        query={"wait": "0.05"},
    )
    assert queued.status_code == 202 and queued.json()["status"]["id"] == Status.IN_QUEUE

    result = finished_result()
    assert store.finish(submission_id, Status.RUNTIME_ERROR_SIGSEGV, result)
    finished = check(
        app,
        "/api/v1/submissions/{submission_id}",
        "GET",
        admin_headers,
        path_parameters={"submission_id": submission_id},
    )
    assert finished.status_code == 200
    body = finished.json()
    assert body["tests"] == result["tests"] and body["finished_at"] is not None

    seed = check(app, "/api/status/", "GET", admin_headers, query={"submission_id": submission_id})
    assert seed.json()["status"]["id"] == Status.RUNTIME_ERROR_SIGSEGV
    many = check(app, "/api/v1/submissions/batch", "GET", admin_headers, query={"ids": [submission_id, "nope"]})
    assert [v and v["submission_id"] for v in many.json()["submissions"]] == [submission_id, None]


def test_batch_and_seed_submit_conform(app: falcon.App, admin_headers: dict[str, str]) -> None:
    batch = check(app, "/api/v1/submissions/batch", "POST", admin_headers, body={"submissions": [SEED_EXAMPLE] * 2})
    assert batch.status_code == 202 and len(batch.json()["submissions"]) == 2
    seed = check(app, "/api/submit/", "POST", admin_headers, body=SEED_EXAMPLE)
    assert seed.status_code == 202 and seed.json()["status"]["id"] == Status.IN_QUEUE


def test_readiness_and_workers_conform_with_a_live_worker(
    app: falcon.App, admin_headers: dict[str, str], store: SubmissionStore
) -> None:
    store.heartbeat(
        "contract-worker",
        {
            "worker_id": "contract-worker",
            "host": "h",
            "pid": 1,
            "slots": 2,
            "busy": 1,
            "languages": ["python"],
            "queues": ["kodewar"],
            "started_at": time.time(),
            "last_heartbeat": time.time(),
        },
        ttl_s=30,
    )
    try:
        ready = check(app, "/readyz", "GET", admin_headers)
        assert ready.status_code == 200 and ready.json()["workers"] == 1
        workers = check(app, "/api/v1/workers", "GET", admin_headers)
        assert workers.json()["total_slots"] == 2
    finally:
        store.drop_worker("contract-worker")
    unready = check(app, "/readyz", "GET", admin_headers)
    assert unready.status_code == 503 and unready.headers["retry-after"]


def test_a_full_queue_answer_conforms(
    app: falcon.App, api_settings: Settings, store: SubmissionStore, admin_headers: dict[str, str], empty_queue: str
) -> None:
    store.client.rpush(empty_queue, *(f"pending-{i}" for i in range(api_settings.api.max_queue_depth)))
    full = check(app, "/api/submit/", "POST", admin_headers, body=SEED_EXAMPLE)
    assert full.status_code == 503 and full.json()["error"] == "unavailable"
    assert int(full.headers["retry-after"][0]) >= 1


def test_rate_limit_answers_conform(
    app: falcon.App, api_settings: Settings, headers_for: Callable[[str], dict[str, str]], empty_queue: str
) -> None:
    headers = headers_for("contract-rate")
    batch = {"submissions": [SEED_EXAMPLE] * api_settings.api.max_batch}
    # Two windows' worth of attempts: a minute boundary in the middle only delays the 429.
    for _ in range(2 * api_settings.api.rate_limit_per_minute // api_settings.api.max_batch + 1):
        answer = check(app, "/api/v1/submissions/batch", "POST", headers, body=batch)
        if answer.status_code == 429:
            break
        assert answer.status_code == 202, answer.text
    assert answer.status_code == 429 and answer.json()["error"] == "rate_limited"
    assert 1 <= int(answer.headers["retry-after"][0]) <= 60


# -- property-based: every operation, generated data ---------------------------------------------------


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # empty_queue is meant per operation (the whole run of one), not per generated input.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_operation_conforms_to_the_document(
    case: Case, app: falcon.App, headers_for: Callable[[str], dict[str, str]], empty_queue: str
) -> None:
    # A subject per operation, so the submit operations do not spend one another's rate-limit budget.
    case.call_and_validate(app=app, headers=headers_for(f"contract {case.operation.label}"), checks=CHECKS)
