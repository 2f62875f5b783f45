"""The Judge0 CE 1.13.1 translation: ids, request fields, views, statuses and error shapes, on fakes."""

from __future__ import annotations

import base64
from typing import Any

import judge0.base_types
import pytest

from api.judge0.languages import JUDGE0_IDS, catalog
from api.judge0.request import FieldErrors, decode_base64, judge0_field, translate
from api.judge0.view import ALL_FIELDS, DEFAULT_FIELDS, InvalidFields, decimal, requested_fields, timestamp
from sandbox.limits import LimitPolicy
from sandbox.result import Output, Result
from sandbox.result import TestResult as RunResult
from sandbox.statuses import Status
from sandbox.submission import SizeCaps
from tests.unit.api.fakes import Harness, registry

LANGUAGES = catalog(registry())
SDK_1_13_1 = judge0.data.LANGUAGE_TO_LANGUAGE_ID["1.13.1"]  # type: ignore[attr-defined]


def native(raw: dict[str, Any], encoded: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    return translate(raw, encoded=encoded, languages=LANGUAGES, policy=LimitPolicy(), caps=SizeCaps())


def errors_of(raw: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(FieldErrors) as info:
        native(raw)
    return info.value.errors


def auth(harness: Harness) -> dict[str, str]:
    return {"X-Auth-Token": harness.token()}


def finished(status: Status, **test: Any) -> dict[str, Any]:
    return Result("python", (RunResult(status, **test),)).as_dict()


# -- language ids --------------------------------------------------------------------------------


def test_every_sdk_alias_of_a_language_we_run_has_its_id() -> None:
    runs = {"bash", "c", "cpp", "go", "java", "javascript", "python", "rust"}
    for alias, judge0_id in SDK_1_13_1.items():
        name = alias.name.lower()
        if any(name == key or name.startswith(key + "_") for key in ("c", "cpp", "java", "javascript", "go", "rust")):
            assert judge0_id in LANGUAGES, alias
        if name in ("python", "python3", "bash"):
            assert judge0_id in LANGUAGES, alias
    assert {key for key, _ in JUDGE0_IDS.values()} == runs
    assert 70 not in LANGUAGES  # Python 2


def test_listing_names_say_which_toolchain_runs() -> None:
    assert LANGUAGES[71].name == "Python (3.11.2)"
    assert LANGUAGES[48].name == "C (GCC 12.2.0) for C (GCC 7.4.0)"
    assert len({entry.name for entry in LANGUAGES.values()}) == len(LANGUAGES)


# -- requests ------------------------------------------------------------------------------------


def test_judge0_units_become_native_limits() -> None:
    body, asked = native(
        {
            "source_code": "print(1)",
            "language_id": 71,
            "cpu_time_limit": "2.5",
            "cpu_extra_time": 0,
            "wall_time_limit": 4,
            "memory_limit": 64000,
            "stack_limit": 0,
            "max_processes_and_or_threads": 8,
            "max_file_size": 100,
            "number_of_runs": 2,
        }
    )
    assert body["limits"] == {
        "cpu_time_s": 2.5,
        "cpu_extra_time_s": 0.0,
        "wall_time_s": 4.0,
        "memory_mb": 63,
        "stack_mb": 128,  # 0 is "unlimited" to Judge0: the maximum here
        "max_processes": 8,
        "max_file_size_kib": 100,
        "max_output_kib": 100,
    }
    assert body["mode"] == "stdio" and body["number_of_runs"] == 2
    assert asked["memory_limit"] == 64000 and asked["stack_limit"] == 128 * 1024 and asked["language_id"] == 71


def test_defaults_are_judge0s() -> None:
    body, asked = native({"source_code": "x", "language_id": 50})
    assert body["language"] == "c" and asked["cpu_extra_time"] == 1.0 and asked["memory_limit"] == 128 * 1024
    assert "args" not in body and "compiler_options" not in body and "expected_output" not in body


def test_shell_text_becomes_argv_as_judge0_would_split_it() -> None:
    body, _ = native(
        {
            "source_code": "x",
            "language_id": 54,
            "compiler_options": "-O3 -DNAME='\"a b\"'",
            "command_line_arguments": "one 'two words' $HOME;rm `id`",
        }
    )
    assert body["compiler_options"] == ["-O3", '-DNAME="a b"']
    assert body["args"] == ["one", "two words", "HOMErm", "id"]  # $&;<>|` deleted, as Judge0 does


def test_base64_fields_decode_as_leniently_as_ruby() -> None:
    encoded = base64.encodebytes("print('ü')".encode()).decode()  # with a line break, as Ruby writes it
    body, _ = native({"source_code": encoded, "language_id": 71, "stdin": "aGk"}, encoded=True)
    assert body["code"] == "print('ü')" and body["stdin"] == "hi"
    assert decode_base64("aGk=\n") == b"hi"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"language_id": 71}, "source_code", "can't be blank"),
        ({"source_code": "x"}, "language_id", "can't be blank"),
        ({"source_code": "x", "language_id": 70}, "language_id", "language with id 70 doesn't exist"),
        ({"source_code": "x", "language_id": 71, "cpu_time_limit": 16}, "cpu_time_limit", "less than or equal to 15"),
        ({"source_code": "x", "language_id": 71, "wall_time_limit": 0.5}, "wall_time_limit", "greater than or equal"),
        ({"source_code": "x", "language_id": 71, "memory_limit": 2048}, "memory_limit", "greater than or equal"),
        ({"source_code": "x", "language_id": 71, "memory_limit": "lots"}, "memory_limit", "is not a number"),
        ({"source_code": "x", "language_id": 71, "number_of_runs": 0}, "number_of_runs", "must be greater than 0"),
        ({"source_code": "x", "language_id": 71, "number_of_runs": 1.5}, "number_of_runs", "must be an integer"),
        ({"source_code": "x", "language_id": 71, "enable_network": True}, "enable_network", "not allowed"),
        ({"source_code": "x", "language_id": 71, "enable_network": "1"}, "enable_network", "not allowed"),
        (
            {"source_code": "x", "language_id": 71, "enable_per_process_and_thread_time_limit": True},
            "enable_per_process_and_thread_time_limit",
            "cannot be enabled",
        ),
        ({"source_code": "x", "language_id": 71, "compiler_options": "-O2"}, "compiler_options", "compiled languages"),
        ({"source_code": "x", "language_id": 71, "command_line_arguments": "'open"}, "command_line_arguments", "quote"),
        ({"source_code": "x", "language_id": 71, "command_line_arguments": "a" * 513}, "command_line_arguments", "512"),
    ],
)
def test_field_errors_use_judge0s_names_and_messages(raw: dict[str, Any], field: str, message: str) -> None:
    errors = errors_of(raw)
    assert field in errors and any(message in text for text in errors[field]), errors


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of({"language_id": 71, "cpu_time_limit": -1, "enable_network": True})
    assert set(errors) == {"source_code", "cpu_time_limit", "enable_network"}


def test_disabled_options_may_be_sent_as_false() -> None:
    body, _ = native({"source_code": "x", "language_id": 71, "enable_network": False, "redirect_stderr_to_stdout": "0"})
    assert "redirect_stderr_to_stdout" not in body


def test_native_field_names_map_back() -> None:
    assert judge0_field("limits.memory_mb") == "memory_limit"
    assert judge0_field("submissions[3].code") == "source_code"
    assert judge0_field("args") == "command_line_arguments"
    assert judge0_field("something.else") == "base"


# -- views ---------------------------------------------------------------------------------------


def test_fields_parameter() -> None:
    assert requested_fields(None) == DEFAULT_FIELDS
    assert requested_fields("*") == ALL_FIELDS
    assert requested_fields("token, status,token") == ("token", "status")
    with pytest.raises(InvalidFields, match=r"invalid fields: \[nope, x\]"):
        requested_fields("token,nope,x")


def test_formats_as_rails_writes_them() -> None:
    assert timestamp(1706702400.1234) == "2024-01-31T12:00:00.123Z"
    assert [decimal(v) for v in (5, 0.0123, 0, 1.5, None)] == ["5.0", "0.0123", "0.0", "1.5", None]


def create(harness: Harness, **body: Any) -> str:
    response = harness.client.simulate_post(
        "/judge0/submissions", json={"source_code": "print(1)", "language_id": 71, **body}, headers=auth(harness)
    )
    assert response.status_code == 201, response.text
    return str(response.json["token"])


def get(harness: Harness, token: str, **params: str) -> dict[str, Any]:
    response = harness.client.simulate_get(f"/judge0/submissions/{token}", params=params, headers=auth(harness))
    assert response.status_code == 200, response.text
    return dict(response.json)


def test_a_queued_submission_reads_in_queue_with_null_results(harness: Harness) -> None:
    view = get(harness, create(harness), fields="*")
    assert view["status"] == {"id": 1, "description": "In Queue"}
    assert view["stdout"] is view["time"] is view["message"] is view["finished_at"] is None
    assert (
        harness.dispatcher.sent and harness.store.records[view["token"]].body["compat"]["judge0"]["language_id"] == 71
    )


@pytest.mark.parametrize(
    ("status", "shown", "real"),
    [
        (Status.MEMORY_LIMIT_EXCEEDED, 12, "Memory Limit Exceeded"),
        (Status.OUTPUT_LIMIT_EXCEEDED, 8, "Output Limit Exceeded"),
        (Status.RUNTIME_ERROR_SIGSEGV, 7, None),
    ],
)
def test_statuses_judge0_lacks_map_to_the_nearest_with_the_real_one_named(
    harness: Harness, status: Status, shown: int, real: str | None
) -> None:
    token = create(harness)
    harness.store.finish(token, status, finished(status, signal=9, message="why"))
    view = get(harness, token)
    assert view["status"]["id"] == shown
    assert view["message"] == (f"{real}: why" if real else "why")
    extended = get(harness, token, extended_statuses="true")
    assert extended["status"] == status.as_dict() and extended["message"] == "why"


def test_results_as_judge0_fields(harness: Harness) -> None:
    token = create(harness)
    test = {"time": 0.0123, "wall_time": 0.02, "memory": 9000, "exit_code": 0, "stdout": Output("4\n")}
    harness.store.finish(token, Status.ACCEPTED, finished(Status.ACCEPTED, **test))
    view = get(harness, token, fields="time,wall_time,memory,stdout,stderr,exit_code,exit_signal,message")
    assert view == {
        "time": "0.0123",
        "wall_time": "0.02",
        "memory": 9000,
        "stdout": "4\n",
        "stderr": None,
        "exit_code": 0,
        "exit_signal": None,
        "message": None,
    }


def test_base64_carries_the_exact_bytes_and_the_message(harness: Harness) -> None:
    token = create(harness)
    raw = b"\xff\xfe\x00ok"
    output = Output.capture(raw, 1024)
    harness.store.finish(
        token,
        Status.RUNTIME_ERROR_NZEC,
        finished(Status.RUNTIME_ERROR_NZEC, stdout=output, exit_code=1, message="exited with code 1"),
    )
    view = get(harness, token, base64_encoded="true")
    assert base64.b64decode(view["stdout"]) == raw
    assert base64.b64decode(view["message"]) == b"exited with code 1"
    assert get(harness, token)["stdout"] == raw.decode(errors="replace")


def test_a_compile_error_has_no_run_fields(harness: Harness) -> None:
    token = create(harness, language_id=50, source_code="int main( {")
    result = Result(
        "c", (RunResult(Status.SKIPPED),), Output("main.c:1: error"), Status.COMPILATION_ERROR, "compilation failed"
    )
    harness.store.finish(token, Status.COMPILATION_ERROR, result.as_dict())
    view = get(harness, token, fields="status,compile_output,stdout,time,memory,exit_code")
    assert view == {
        "status": {"id": 6, "description": "Compilation Error"},
        "compile_output": "main.c:1: error",
        "stdout": None,
        "time": None,
        "memory": None,
        "exit_code": None,
    }


def test_a_native_submission_reads_through_judge0(harness: Harness) -> None:
    response = harness.client.simulate_post(
        "/api/v1/submissions", json={"code": "print(1)", "language": "c"}, headers=harness.auth()
    )
    view = get(harness, response.json["submission_id"], fields="language_id,language,cpu_time_limit,memory_limit")
    assert view == {
        "language_id": 50,
        "language": {"id": 50, "name": "C (GCC 12.2.0)"},
        "cpu_time_limit": "5.0",
        "memory_limit": 131072,
    }


# -- routes and error shapes ---------------------------------------------------------------------


def test_create_answers_201_with_the_token_and_wait_with_the_fields(harness: Harness) -> None:
    harness.dispatcher.worker = lambda sid: harness.store.finish(
        sid, Status.ACCEPTED, finished(Status.ACCEPTED, stdout=Output("1\n"))
    )
    response = harness.client.simulate_post(
        "/judge0/submissions",
        params={"wait": "true", "fields": "stdout,status"},
        json={"source_code": "print(1)", "language_id": 71},
        headers=auth(harness),
    )
    assert response.status_code == 201
    assert response.json == {"stdout": "1\n", "status": {"id": 3, "description": "Accepted"}}


def test_error_shapes(harness: Harness) -> None:
    client = harness.client
    assert client.simulate_post("/judge0/submissions", json={}).status_code == 401
    missing = client.simulate_get("/judge0/submissions/00000000-0000-4000-8000-000000000000", headers=auth(harness))
    assert (missing.status_code, missing.json) == (404, {"error": "Not Found"})
    deleting = client.simulate_delete("/judge0/submissions/x", headers=auth(harness))
    assert (deleting.status_code, deleting.json) == (400, {"error": "delete not allowed"})
    empty = client.simulate_post("/judge0/submissions/batch", json={"submissions": []}, headers=auth(harness))
    assert (empty.status_code, empty.json) == (400, {"error": "there should be at least one submission in a batch"})
    invalid = client.simulate_post(
        "/judge0/submissions/batch", json={"submissions": [{"language_id": 71}]}, headers=auth(harness)
    )
    assert (invalid.status_code, invalid.json) == (422, [{"source_code": ["can't be blank"]}])
    too_big = client.simulate_post(
        "/judge0/submissions", json={"source_code": "x" * 70000, "language_id": 71}, headers=auth(harness)
    )
    assert too_big.status_code == 422 and "source_code" in too_big.json


def test_a_full_queue_is_judge0s_503(harness: Harness) -> None:
    harness.store.depth = harness.service.api.max_queue_depth
    response = harness.client.simulate_post(
        "/judge0/submissions", json={"source_code": "x", "language_id": 71}, headers=auth(harness)
    )
    assert (response.status_code, response.json) == (503, {"error": "queue is full"})
    assert response.headers["Retry-After"]


def test_the_token_needs_the_scope(harness: Harness) -> None:
    headers = {"X-Auth-Token": harness.token(scopes=("read",))}
    response = harness.client.simulate_post("/judge0/submissions", json={}, headers=headers)
    assert response.status_code == 403 and "submit" in response.json["error"]


def test_config_info_satisfies_the_sdk(harness: Harness) -> None:
    body = harness.client.simulate_get("/judge0/config_info").json
    config = judge0.base_types.Config(**body)
    assert set(body) == set(judge0.base_types.Config.model_fields)
    assert config.max_submission_batch_size == 20 and config.allow_enable_network is False


def test_languages_satisfy_the_sdk(harness: Harness) -> None:
    for entry in harness.client.simulate_get("/judge0/languages").json:
        assert set(entry) == {"id", "name"}
        judge0.base_types.Language(**entry)
    detail = judge0.base_types.Language(**harness.client.simulate_get("/judge0/languages/54").json)
    assert detail.compile_cmd is not None and "%s main.cpp" in detail.compile_cmd
    assert harness.client.simulate_get("/judge0/languages/999").status_code == 404
