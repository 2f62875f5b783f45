"""The seed's endpoints and the native ones, end to end through gunicorn, Redis, a worker and Podman."""

from __future__ import annotations

import time
from typing import Any

from tests.integration.service.conftest import ClientFactory
from tests.integration.service.support import (
    ACCEPTED,
    SEED,
    TRIPLE,
    WRONG_ANSWER,
    Client,
    status_id,
    wait_until,
)

FINISH_TIMEOUT_S = 30.0
STDIO_DOUBLE = {
    "code": "print(int(input()) * 2)",
    "language": "python",
    "stdin": "21",
    "expected_output": "42",
}


def poll_seed_status(api: Client, submission_id: str) -> dict[str, object]:
    """The seed's way: poll GET /api/status/ until the status is a verdict."""

    def finished() -> dict[str, object] | None:
        view = api.status(submission_id)
        return view if status_id(view) >= ACCEPTED else None

    return wait_until(
        finished,
        FINISH_TIMEOUT_S,
        f"submission {submission_id} to finish",
        interval_s=0.2,
    )


def test_seed_example_is_accepted(client: ClientFactory) -> None:
    api = client("seed-user")
    response = api.post("/api/submit/", SEED)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == {"id": 1, "description": "In Queue"}
    view = poll_seed_status(api, body["submission_id"])
    assert view["status"] == {"id": ACCEPTED, "description": "Accepted"}
    assert (view["passed"], view["total"]) == (1, 1)
    assert view["language"] == "python"
    assert view["finished_at"] is not None


def test_seed_example_times_three_is_wrong_answer_showing_6(client: ClientFactory) -> None:
    api = client("seed-user")
    view = poll_seed_status(api, api.submit(TRIPLE))
    assert status_id(view) == WRONG_ANSWER
    assert view["status"]["description"] == "Wrong Answer"  # type: ignore[index]
    tests: list[dict[str, Any]] = view["tests"]  # type: ignore[assignment]
    assert len(tests) == 1
    assert tests[0]["stdout"].strip() == "6"
    assert (view["passed"], view["total"]) == (0, 1)


def test_native_submit_with_wait_returns_the_result(client: ClientFactory) -> None:
    api = client("native-user")
    started = time.monotonic()
    response = api.post("/api/v1/submissions", SEED, wait="true")
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < FINISH_TIMEOUT_S
    view = response.json()
    assert status_id(view) == ACCEPTED
    submission_id = view["submission_id"]
    assert response.headers["Location"].endswith(f"/api/v1/submissions/{submission_id}")
    for test in view["tests"]:
        assert {"status", "time", "wall_time", "memory", "exit_code", "signal", "stdout", "stderr"} <= set(test)

    again = api.get(f"/api/v1/submissions/{submission_id}", wait="true")
    assert again.status_code == 200
    assert again.json()["status"] == view["status"]
    assert again.json()["tests"] == view["tests"]


def test_native_get_with_wait_blocks_until_the_verdict(client: ClientFactory) -> None:
    api = client("native-user")
    response = api.post("/api/v1/submissions", TRIPLE)
    assert response.status_code == 202, response.text
    assert status_id(response.json()) in (1, 2)
    waited = api.get(f"/api/v1/submissions/{response.json()['submission_id']}", wait="true")
    assert waited.status_code == 200, waited.text
    assert status_id(waited.json()) == WRONG_ANSWER


def test_batch_submit_and_get(client: ClientFactory) -> None:
    api = client("batch-user")
    response = api.post("/api/v1/submissions/batch", {"submissions": [SEED, TRIPLE, STDIO_DOUBLE]})
    assert response.status_code == 202, response.text
    ids = [item["submission_id"] for item in response.json()["submissions"]]
    assert len(set(ids)) == 3
    assert all(item["status"]["id"] == 1 for item in response.json()["submissions"])

    def all_finished() -> list[dict[str, object]] | None:
        got = api.get("/api/v1/submissions/batch", ids=",".join(ids))
        assert got.status_code == 200, got.text
        views = got.json()["submissions"]
        return views if all(v is not None and status_id(v) >= ACCEPTED for v in views) else None

    views = wait_until(all_finished, FINISH_TIMEOUT_S, "the batch to finish", interval_s=0.2)
    assert [v["submission_id"] for v in views] == ids
    assert [status_id(v) for v in views] == [ACCEPTED, WRONG_ANSWER, ACCEPTED]
    assert views[2]["tests"][0]["stdout"].strip() == "42"  # type: ignore[index]

    unknown = api.get("/api/v1/submissions/batch", ids=f"{ids[0]},00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 200
    assert unknown.json()["submissions"][1] is None
