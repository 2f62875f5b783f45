"""Submitting, reading and long-polling through the HTTP layer, on fakes."""

from __future__ import annotations

import pytest
from falcon.testing import Result

from sandbox.statuses import Status
from tests.unit.api.fakes import Harness
from tests.unit.api.helpers import SEED, finished_result


def submit(harness: Harness, body: object = SEED, subject: str = "alice", **params: str) -> Result:
    return harness.client.simulate_post("/api/v1/submissions", json=body, params=params, headers=harness.auth(subject))


def test_the_seed_example_is_queued(harness: Harness) -> None:
    result = submit(harness)
    assert result.status_code == 202
    body = result.json
    assert body["status"] == {"id": 1, "description": "In Queue"}
    assert body["language"] == "python" and body["finished_at"] is None
    assert result.headers["Location"] == f"/api/v1/submissions/{body['submission_id']}"
    record = harness.store.records[body["submission_id"]]
    assert record.owner == "alice" and record.body == SEED
    assert harness.dispatcher.sent == [(record.id, "python")]


def test_callback_url_is_kept_apart_from_the_body(harness: Harness) -> None:
    harness.service.webhook_allow_private = True  # no DNS lookup in a unit test
    result = submit(harness, {**SEED, "callback_url": "http://127.0.0.1:9/hook"})
    record = harness.store.records[result.json["submission_id"]]
    assert record.callback_url == "http://127.0.0.1:9/hook" and "callback_url" not in record.body


def test_wait_returns_200_with_the_result_when_it_finishes_in_time(harness: Harness) -> None:
    harness.dispatcher.worker = lambda sid: harness.store.finish(sid, Status.RUNTIME_ERROR_SIGSEGV, finished_result())
    result = submit(harness, wait="true")
    assert result.status_code == 200
    body = result.json
    assert body["status"]["id"] == Status.RUNTIME_ERROR_SIGSEGV and body["passed"] == 1 and body["total"] == 2
    assert body["tests"][1]["stderr_truncated"] is True and body["finished_at"] is not None


def test_wait_true_is_capped_and_numbers_are_seconds(harness: Harness) -> None:
    submission_id = submit(harness, wait="true").json["submission_id"]
    submit(harness, wait="0.25")
    assert [seconds for _, seconds in harness.store.waits] == [harness.service.api.max_wait_s, 0.25]
    again = harness.client.simulate_get(
        f"/api/v1/submissions/{submission_id}", params={"wait": "yes"}, headers=harness.auth()
    )
    assert again.status_code == 202 and harness.store.waits[-1] == (submission_id, harness.service.api.max_wait_s)


@pytest.mark.parametrize("wait", ["soon", "-1", "31", "nan", "inf"])
def test_a_bad_wait_is_a_422_naming_it(harness: Harness, wait: str) -> None:
    result = submit(harness, wait=wait)
    assert result.status_code == 422 and result.json["field"] == "wait"
    assert harness.store.records == {}


def test_no_wait_answers_at_once(harness: Harness) -> None:
    submit(harness)
    submit(harness, wait="false")
    submit(harness, wait="0")
    assert harness.store.waits == []


def test_a_subject_sees_only_its_own_submissions(harness: Harness) -> None:
    mine = submit(harness, subject="alice").json["submission_id"]
    client, path = harness.client, f"/api/v1/submissions/{mine}"
    assert client.simulate_get(path, headers=harness.auth("alice")).status_code == 202
    other = client.simulate_get(path, headers=harness.auth("bob"))
    assert other.status_code == 404 and other.json["error"] == "not_found"
    unknown = client.simulate_get("/api/v1/submissions/00000000-0000-0000-0000-000000000000", headers=harness.auth())
    assert unknown.status_code == 404 and unknown.json == other.json  # indistinguishable from "not yours"
    assert client.simulate_get(path, headers=harness.auth("root", scopes=("admin",))).status_code == 202
    seed = client.simulate_get("/api/status/", params={"submission_id": mine}, headers=harness.auth("bob"))
    assert seed.status_code == 404
    batch = client.simulate_get("/api/v1/submissions/batch", params={"ids": mine}, headers=harness.auth("bob"))
    assert batch.json == {"submissions": [None]}


@pytest.mark.parametrize("submission_id", ["x" * 65, "a b", "../kw:rate", "*"])
def test_implausible_ids_are_not_looked_up(harness: Harness, submission_id: str) -> None:
    harness.store.down = True  # a lookup would answer 503
    result = harness.client.simulate_get(
        "/api/status/", params={"submission_id": submission_id}, headers=harness.auth()
    )
    assert result.status_code == 404


def test_a_finished_submission_reads_200_with_its_result(harness: Harness) -> None:
    submission_id = submit(harness).json["submission_id"]
    harness.store.finish(submission_id, Status.RUNTIME_ERROR_SIGSEGV, finished_result())
    result = harness.client.simulate_get(f"/api/v1/submissions/{submission_id}", headers=harness.auth())
    assert result.status_code == 200
    assert result.json["tests"] == finished_result()["tests"]
    assert harness.store.waits == []  # finished: no long-poll even if asked


def test_batch_submits_all_or_nothing(harness: Harness) -> None:
    ok = harness.client.simulate_post(
        "/api/v1/submissions/batch", json={"submissions": [SEED, SEED]}, headers=harness.auth()
    )
    assert ok.status_code == 202
    ids = [s["submission_id"] for s in ok.json["submissions"]]
    assert sorted(ids) == sorted(harness.store.records) and len(harness.dispatcher.sent) == 2
    bad = harness.client.simulate_post(
        "/api/v1/submissions/batch", json={"submissions": [SEED, {**SEED, "language": "cobol"}]}, headers=harness.auth()
    )
    assert bad.status_code == 422 and bad.json["field"] == "submissions[1].language"
    assert len(harness.store.records) == 2 and len(harness.dispatcher.sent) == 2


@pytest.mark.parametrize("body", [{}, {"submissions": []}, {"submissions": "x"}, [SEED]])
def test_batch_needs_a_non_empty_list(harness: Harness, body: object) -> None:
    result = harness.client.simulate_post("/api/v1/submissions/batch", json=body, headers=harness.auth())
    assert result.status_code == 422 and result.json["field"] == "submissions"


def test_batch_size_is_capped(harness: Harness) -> None:
    many = {"submissions": [SEED] * (harness.service.api.max_batch + 1)}
    result = harness.client.simulate_post("/api/v1/submissions/batch", json=many, headers=harness.auth())
    assert result.status_code == 422 and result.json["field"] == "submissions"
    assert harness.store.records == {}


@pytest.mark.parametrize("query", ["ids={a},{b}", "ids={a}&ids={b}", "ids={a},,{b},"])
def test_batch_read_takes_comma_separated_or_repeated_ids(harness: Harness, query: str) -> None:
    a, b = (submit(harness).json["submission_id"] for _ in range(2))
    result = harness.client.simulate_get(
        "/api/v1/submissions/batch", query_string=query.format(a=a, b=b), headers=harness.auth()
    )
    assert result.status_code == 200
    assert [s["submission_id"] for s in result.json["submissions"]] == [a, b]


@pytest.mark.parametrize("query", ["", "ids=", "ids=,,", "ids=" + ",".join(["x"] * 101)])
def test_batch_read_needs_between_one_and_max_ids(harness: Harness, query: str) -> None:
    result = harness.client.simulate_get("/api/v1/submissions/batch", query_string=query, headers=harness.auth())
    assert result.status_code == 422 and result.json["field"] == "ids"


def test_seed_submit_answers_202_with_the_id(harness: Harness) -> None:
    result = harness.client.simulate_post("/api/submit/", json=SEED, headers=harness.auth())
    assert result.status_code == 202
    assert result.json == {
        "submission_id": next(iter(harness.store.records)),
        "status": {"id": 1, "description": "In Queue"},
    }


def test_seed_status_reads_the_submission(harness: Harness) -> None:
    submission_id = harness.client.simulate_post("/api/submit/", json=SEED, headers=harness.auth()).json[
        "submission_id"
    ]
    queued = harness.client.simulate_get(
        "/api/status/", params={"submission_id": submission_id}, headers=harness.auth()
    )
    assert queued.status_code == 200 and queued.json["status"]["id"] == 1 and "tests" not in queued.json
    harness.store.finish(submission_id, Status.ACCEPTED, {**finished_result(), "status": Status.ACCEPTED.as_dict()})
    done = harness.client.simulate_get("/api/status/", params={"submission_id": submission_id}, headers=harness.auth())
    assert done.status_code == 200 and done.json["status"]["description"] == "Accepted" and len(done.json["tests"]) == 2


@pytest.mark.parametrize("query", ["", "submission_id="])
def test_seed_status_needs_an_id(harness: Harness, query: str) -> None:
    result = harness.client.simulate_get("/api/status/", query_string=query, headers=harness.auth())
    assert result.status_code == 422 and result.json["field"] == "submission_id"
