"""The /judge0 API in plain HTTP, for what the SDK does not show: exact bytes under base64, field
selection, Judge0's error bodies and status codes, datetimes, and the opt-in extended statuses."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from api.judge0.view import ALL_FIELDS
from kodewar.stack import LocalStack
from tests.integration.compat import programs as p

TIMEOUT_S = 60
JUDGE0_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(scope="module")
def api(stack: LocalStack, token: str) -> requests.Session:
    session = requests.Session()
    session.headers["X-Auth-Token"] = token
    return session


def url(stack: LocalStack, path: str) -> str:
    return f"{stack.url}/judge0{path}"


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def submit_and_wait(api: requests.Session, stack: LocalStack, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = api.post(url(stack, "/submissions"), json=body, params={"wait": "true", **params}, timeout=TIMEOUT_S)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_base64_returns_the_exact_bytes_and_plain_text_replaces_them(api: requests.Session, stack: LocalStack) -> None:
    body = {"source_code": b64(p.PY_BINARY), "language_id": 71}
    encoded = submit_and_wait(api, stack, body, base64_encoded="true", fields="stdout,stderr,status,token")
    assert set(encoded) == {"stdout", "stderr", "status", "token"}
    assert base64.b64decode(encoded["stdout"]) == p.BINARY_STDOUT
    assert base64.b64decode(encoded["stderr"]) == "ërr\n".encode()
    plain = api.get(url(stack, f"/submissions/{encoded['token']}"), timeout=TIMEOUT_S).json()
    assert plain["stdout"] == p.BINARY_STDOUT.decode(errors="replace")  # plain JSON text cannot hold the bytes


def test_all_fields_dates_and_decimals_as_judge0_writes_them(api: requests.Session, stack: LocalStack) -> None:
    body = {"source_code": p.PY_ECHO, "language_id": "71", "stdin": "hi", "expected_output": "hi", "cpu_time_limit": 2}
    view = submit_and_wait(api, stack, body, fields="*")
    assert set(view) == set(ALL_FIELDS)
    assert view["status"] == {"id": 3, "description": "Accepted"} and view["status_id"] == 3
    assert view["language"] == {"id": 71, "name": "Python (3.11.2)"} and view["language_id"] == 71
    assert JUDGE0_DATETIME.match(view["created_at"]) and JUDGE0_DATETIME.match(view["finished_at"])
    assert isinstance(view["time"], str) and float(view["time"]) >= 0 and view["cpu_time_limit"] == "2.0"
    assert view["memory_limit"] == 131072 and view["enable_network"] is False
    assert view["stdout"] == "hi\n" and view["exit_code"] == 0 and view["exit_signal"] is None


def test_without_wait_the_answer_is_the_token(api: requests.Session, stack: LocalStack) -> None:
    response = api.post(url(stack, "/submissions"), json={"source_code": "print(1)", "language_id": 71}, timeout=10)
    assert response.status_code == 201 and set(response.json()) == {"token"}


def test_judge0_error_shapes(api: requests.Session, stack: LocalStack) -> None:
    refused = api.post(
        url(stack, "/submissions"),
        json={"source_code": "print(1)", "language_id": 71, "enable_network": True, "memory_limit": 10**9},
        timeout=10,
    )
    assert refused.status_code == 422
    assert set(refused.json()) == {"enable_network", "memory_limit"}
    assert "not allowed" in refused.json()["enable_network"][0]
    unknown = api.post(url(stack, "/submissions"), json={"source_code": "x", "language_id": 70}, timeout=10)
    assert unknown.status_code == 422 and "language with id 70 doesn't exist" in unknown.json()["language_id"][0]
    fields = api.get(url(stack, "/submissions/x"), params={"fields": "stdout,bogus"}, timeout=10)
    assert (fields.status_code, fields.json()) == (400, {"error": "invalid fields: [bogus]"})
    missing = api.get(url(stack, "/submissions/00000000-0000-4000-8000-000000000000"), timeout=10)
    assert missing.status_code == 404
    too_many = api.get(url(stack, "/submissions/batch"), params={"tokens": ",".join(["a"] * 21)}, timeout=10)
    assert too_many.status_code == 400 and "less than or equal to 20" in too_many.json()["error"]
    anonymous = requests.post(url(stack, "/submissions"), json={"source_code": "x", "language_id": 71}, timeout=10)
    assert anonymous.status_code == 401 and "error" in anonymous.json()


def test_a_bearer_token_works_as_well_as_x_auth_token(stack: LocalStack, token: str) -> None:
    response = requests.post(
        url(stack, "/submissions"),
        json={"source_code": "print(1)", "language_id": 71},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201


def test_a_batch_keeps_the_valid_items_and_reports_the_others(api: requests.Session, stack: LocalStack) -> None:
    body = {"submissions": [{"source_code": "print(1)", "language_id": 71}, {"language_id": 71}]}
    response = api.post(url(stack, "/submissions/batch"), json=body, timeout=10)
    assert response.status_code == 201
    first, second = response.json()
    assert set(first) == {"token"} and second == {"source_code": ["can't be blank"]}
    read = api.get(url(stack, "/submissions/batch"), params={"tokens": f"{first['token']},nope"}, timeout=10)
    assert read.status_code == 200 and read.json()["submissions"][1] is None


def test_extended_statuses_are_opt_in(api: requests.Session, stack: LocalStack) -> None:
    body = {"source_code": p.PY_MEMORY_HOG, "language_id": 71, "memory_limit": 65536}
    view = submit_and_wait(api, stack, body, fields="status,message,token")
    assert view["status"] == {"id": 12, "description": "Runtime Error (Other)"}
    assert view["message"].startswith("Memory Limit Exceeded")
    extended = api.get(url(stack, f"/submissions/{view['token']}"), params={"extended_statuses": "true"}, timeout=10)
    assert extended.json()["status"] == {"id": 15, "description": "Memory Limit Exceeded"}
    listed = api.get(url(stack, "/statuses"), timeout=10).json()
    assert [s["id"] for s in listed] == list(range(1, 15))
    assert len(api.get(url(stack, "/statuses"), params={"extended_statuses": "true"}, timeout=10).json()) == 17


def test_catalog_routes(api: requests.Session, stack: LocalStack) -> None:
    about = api.get(url(stack, "/about"), timeout=10).json()
    assert about["version"] == "1.13.1"
    assert api.get(url(stack, "/version"), timeout=10).text == "1.13.1"
    every = api.get(url(stack, "/languages/all"), timeout=10).json()
    assert all(entry["is_archived"] is False for entry in every)
    c = api.get(url(stack, "/languages/50"), timeout=10).json()
    assert c["source_file"] == "main.c" and "%s" in c["compile_cmd"] and c["run_cmd"] == "./main"
    assert api.get(url(stack, "/languages/70"), timeout=10).status_code == 404
    workers = api.get(url(stack, "/workers"), timeout=10).json()
    assert any(queue["available"] >= 1 for queue in workers)
    assert set(workers[0]) == {"queue", "size", "available", "idle", "working", "paused", "failed"}
