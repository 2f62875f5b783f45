"""Request bodies: every client mistake is a 4xx JSON error naming the problem, and nothing is stored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from api.config import ApiConfig
from tests.unit.api.fakes import Harness, make_harness
from tests.unit.api.helpers import SEED


def post(harness: Harness, body: str | bytes, content_type: str | None = "application/json", path: str = "") -> Any:
    headers = harness.auth()
    if content_type is not None:
        headers["Content-Type"] = content_type
    return harness.client.simulate_post(path or "/api/v1/submissions", body=body, headers=headers)


def assert_nothing_stored(harness: Harness) -> None:
    assert harness.store.records == {} and harness.dispatcher.sent == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SEED, "language": "cobol"}, "language"),
        ({**SEED, "code": "   "}, "code"),
        ({**SEED, "code": "print(1)\x00"}, "code"),
        ({"language": "python"}, "code"),
        ({**SEED, "shell": True}, "shell"),
        ({**SEED, "limits": {"memory_mb": 100_000}}, "limits.memory_mb"),
        ({**SEED, "limits": {"cpu_time_s": 0}}, "limits.cpu_time_s"),
        ({**SEED, "limits": {"max_processes": 1.5}}, "limits.max_processes"),
        ({**SEED, "limits": {"gpus": 1}}, "limits.gpus"),
        ({**SEED, "limits": []}, "limits"),
        ({**SEED, "test_cases": []}, "test_cases"),
        ({**SEED, "test_cases": [{"input": "1", "stdin": "2"}]}, "test_cases[0]"),
        ({**SEED, "test_cases": [{"input": ["1"]}]}, "test_cases[0].input"),
        ({**SEED, "mode": "repl"}, "mode"),
        ({**SEED, "checker": "fuzzy"}, "checker"),
        ({**SEED, "checker": {"kind": "float", "abs_tol": -1}}, "checker"),
        ({**SEED, "function_name": "1abc"}, "function_name"),
        ({**SEED, "callback_url": "file:///etc/passwd"}, "callback_url"),
        ({**SEED, "callback_url": "http://user:pw@example.test/"}, "callback_url"),
        ({**SEED, "callback_url": 7}, "callback_url"),
        ([SEED], "body"),
        ("just a string", "body"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(harness: Harness, body: object, field: str) -> None:
    result = post(harness, json.dumps(body))
    assert result.status_code == 422, result.text
    assert result.json["error"] == "invalid" and result.json["field"] == field
    assert result.json["message"].startswith(f"{field}: ")
    assert_nothing_stored(harness)


def test_the_test_count_is_capped() -> None:
    harness = make_harness()
    cap = harness.service.caps.max_tests
    result = post(harness, json.dumps({**SEED, "test_cases": [{"input": "1"}] * (cap + 1)}))
    assert result.status_code == 422 and result.json["field"] == "test_cases"


@pytest.mark.parametrize("body", ["{", "", "{'code': 1}", '{"a": 1} trailing', b"\xff\xfe\x00"])
def test_malformed_json_is_400(harness: Harness, body: str | bytes) -> None:
    result = post(harness, body)
    assert result.status_code == 400, result.text
    assert result.json["error"] == "bad_request" and result.json["message"].startswith("malformed JSON")
    assert_nothing_stored(harness)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_400(harness: Harness, constant: str) -> None:
    body = '{"code": "print(1)", "language": "python", "limits": {"cpu_time_s": CONSTANT}}'
    result = post(harness, body.replace("CONSTANT", constant))
    assert result.status_code == 400 and constant in result.json["message"]


def test_nesting_too_deep_for_the_parser_is_400_not_500(harness: Harness) -> None:
    assert post(harness, "[" * 100_000).status_code == 400


HUGE = "1" + "0" * 400  # json.loads makes it an int; float() of it overflows


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"code": "print(1)\\ud800", "language": "python"}', "code"),
        ('{"\\udfff": 1, "code": "print(1)", "language": "python"}', "body"),
        ('{"code": "print(1)", "language": "python", "limits": {"\\ud800": 1}}', "limits"),
        ('{"code": "x", "language": "python", "test_cases": [{}, {"input": "\\ud83d"}]}', "test_cases[1].input"),
        ('{"code": "print(1)", "language": "python", "limits": {"memory_mb": HUGE}}', "limits.memory_mb"),
        ('{"code": "x", "language": "python", "checker": {"kind": "float", "abs_tol": HUGE}}', "checker.abs_tol"),
        ('{"submissions": [{"code": "x", "language": "python", "limits": {"cpu_time_s": -HUGE}}]}', "batch"),
        ('{"code": "print(1)", "language": "python", "callback_url": "http://a:99999/"}', "callback_url"),
        ('{"code": "print(1)", "language": "python", "callback_url": "http://[::1"}', "callback_url"),
    ],
)
def test_what_json_accepts_but_python_cannot_handle_is_422_not_500(harness: Harness, body: str, field: str) -> None:
    """Found by reading and fuzzing: each of these used to end in a 500 (some with an empty body)."""
    path = "/api/v1/submissions/batch" if body.startswith('{"submissions"') else ""
    result = post(harness, body.replace("HUGE", HUGE), path=path)
    assert result.status_code == 422, result.text
    assert result.json["field"] == ("submissions[0].limits.cpu_time_s" if field == "batch" else field)
    assert_nothing_stored(harness)


def test_big_integers_are_fine_where_no_float_is_made(harness: Harness) -> None:
    result = post(harness, json.dumps({**SEED, "test_cases": [{"input": "1", "expected": 10**400}]}))
    assert result.status_code == 202


def test_batch_fields_are_named_by_position(harness: Harness) -> None:
    body = json.dumps({"submissions": [SEED, {**SEED, "test_cases": [{"input": "\ud800"}]}]})  # escaped as \\ud800
    result = post(harness, body, path="/api/v1/submissions/batch")
    assert result.status_code == 422 and result.json["field"] == "submissions[1].test_cases[0].input"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_a_body_that_is_not_json_is_415(harness: Harness, content_type: str | None) -> None:
    result = post(harness, json.dumps(SEED), content_type=content_type)
    assert result.status_code == 415 and result.json["error"] == "unsupported_media_type"
    assert_nothing_stored(harness)


def test_json_with_parameters_is_accepted(harness: Harness) -> None:
    assert post(harness, json.dumps(SEED), content_type="Application/JSON; charset=utf-8").status_code == 202


def small_body_harness() -> Harness:
    return make_harness(api=ApiConfig(max_body_bytes=1024, max_wait_s=1.0))


def test_an_oversized_body_is_413_before_it_is_read() -> None:
    harness = small_body_harness()
    result = post(harness, json.dumps({**SEED, "code": "x" * 2000}), content_type="text/plain")
    assert result.status_code == 413 and result.json["error"] == "too_large"  # size first, then type
    assert_nothing_stored(harness)


def test_a_body_at_the_cap_is_accepted() -> None:
    harness = small_body_harness()
    body = json.dumps(SEED)
    padded = body[:-1] + " " * (1024 - len(body)) + "}"
    assert len(padded) == 1024 and post(harness, padded).status_code == 202
