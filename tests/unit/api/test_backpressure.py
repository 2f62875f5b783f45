"""Rate limits, a full queue, a failed enqueue and a store that is down: 429/503 with Retry-After, and no
half-written submission left behind."""

from __future__ import annotations

import logging

import pytest
from falcon.testing import Result

from actors.store import StoreUnavailable
from api.config import ApiConfig
from tests.unit.api.fakes import Harness, make_harness
from tests.unit.api.helpers import SEED

CLOCK_S = 1000.0  # 16 min 40 s: the current one-minute window ends in 20 s


def submit(harness: Harness, subject: str = "alice", path: str = "/api/v1/submissions", body: object = SEED) -> Result:
    return harness.client.simulate_post(path, json=body, headers=harness.auth(subject))


def test_the_rate_limit_answers_429_with_the_seconds_left_in_the_window() -> None:
    harness = make_harness(api=ApiConfig(rate_limit_per_minute=2, max_wait_s=1.0))
    harness.service.clock = lambda: CLOCK_S
    assert [submit(harness).status_code for _ in range(2)] == [202, 202]
    limited = submit(harness)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "20"
    assert limited.json["error"] == "rate_limited"
    assert len(harness.store.records) == 2 and len(harness.dispatcher.sent) == 2
    assert submit(harness, subject="bob").status_code == 202  # budgets are per subject
    harness.service.clock = lambda: CLOCK_S + 20  # the next window
    assert submit(harness).status_code == 202


def test_a_batch_counts_each_submission_against_the_limit() -> None:
    harness = make_harness(api=ApiConfig(rate_limit_per_minute=3, max_wait_s=1.0))
    harness.service.clock = lambda: CLOCK_S
    limited = submit(harness, path="/api/v1/submissions/batch", body={"submissions": [SEED] * 4})
    assert limited.status_code == 429 and harness.store.records == {}


def test_the_seed_endpoint_is_rate_limited_too() -> None:
    harness = make_harness(api=ApiConfig(rate_limit_per_minute=1, max_wait_s=1.0))
    assert submit(harness, path="/api/submit/").status_code == 202
    assert submit(harness, path="/api/submit/").status_code == 429


def test_a_full_queue_answers_503_and_stores_nothing(harness: Harness) -> None:
    harness.store.depth = harness.service.api.max_queue_depth
    full = submit(harness)
    assert full.status_code == 503
    assert full.headers["Retry-After"] == "10"
    assert full.json["error"] == "unavailable" and "queue is full" in full.json["message"]
    assert harness.store.records == {} and harness.dispatcher.sent == []
    harness.store.depth -= 1
    assert submit(harness).status_code == 202


def test_a_failed_enqueue_answers_503_and_removes_the_record(harness: Harness) -> None:
    harness.dispatcher.fail = StoreUnavailable("enqueue failed: connection refused")
    failed = submit(harness)
    assert failed.status_code == 503 and failed.headers["Retry-After"]
    assert failed.json["error"] == "unavailable"
    assert harness.store.records == {}


def test_a_batch_whose_enqueue_fails_keeps_no_record_without_a_message(harness: Harness) -> None:
    sent: list[str] = []

    def flaky(submission_id: str) -> None:
        sent.append(submission_id)
        if len(sent) == 2:
            harness.dispatcher.fail = StoreUnavailable("broker went away")

    harness.dispatcher.worker = flaky
    failed = submit(harness, path="/api/v1/submissions/batch", body={"submissions": [SEED] * 3})
    assert failed.status_code == 503
    # What was enqueued stays (a worker will run it); the one that failed is gone; the rest never started.
    assert set(harness.store.records) == {sid for sid, _ in harness.dispatcher.sent} == set(sent)


def test_an_unexpected_enqueue_error_is_a_500_json_and_still_removes_the_record(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.dispatcher.fail = RuntimeError("bug in a broker middleware")
    with caplog.at_level(logging.ERROR):
        failed = submit(harness)
    assert failed.status_code == 500
    assert failed.json == {"error": "internal", "message": "internal error; it has been logged"}
    assert "bug in a broker middleware" not in failed.text  # no internals to the client
    assert "bug in a broker middleware" in caplog.text
    assert harness.store.records == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/submissions"),
        ("POST", "/api/submit/"),
        ("GET", "/api/v1/submissions/00000000-0000-0000-0000-000000000000"),
        ("GET", "/api/status/?submission_id=abc"),
        ("GET", "/api/v1/submissions/batch?ids=a,b"),
        ("GET", "/api/v1/workers"),
        ("GET", "/readyz"),
    ],
)
def test_a_store_that_is_down_answers_503(harness: Harness, method: str, path: str) -> None:
    harness.store.down = True
    harness.store.client.down = True
    route, _, query = path.partition("?")
    kwargs = {"json": SEED} if method == "POST" else {}
    result = harness.client.simulate_request(method, route, query_string=query, headers=harness.auth(), **kwargs)
    assert result.status_code == 503
    assert result.json["error"] == "unavailable" and result.headers["Retry-After"] == "5"


def test_a_rate_counter_that_cannot_be_written_is_503(harness: Harness) -> None:
    harness.store.client.down = True
    assert submit(harness).status_code == 503 and harness.store.records == {}


def test_readiness_needs_a_live_worker(harness: Harness) -> None:
    unready = harness.client.simulate_get("/readyz")
    assert unready.status_code == 503 and unready.headers["Retry-After"] == "5"
    harness.store.fleet = [{"worker_id": "w1", "slots": 2, "busy": 0}]
    ready = harness.client.simulate_get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ready", "workers": 1}


def test_workers_lists_the_fleet_and_its_slots(harness: Harness) -> None:
    harness.store.fleet = [{"worker_id": "w2", "slots": 4, "busy": 1}, {"worker_id": "w1", "slots": 2, "busy": 2}]
    result = harness.client.simulate_get("/api/v1/workers", headers=harness.auth())
    assert [w["worker_id"] for w in result.json["workers"]] == ["w1", "w2"]
    assert result.json["total_slots"] == 6


def test_metrics_report_requests_and_the_queue_even_with_the_store_down(harness: Harness) -> None:
    submit(harness)
    harness.store.depth = 7
    text = harness.client.simulate_get("/metrics")
    assert text.status_code == 200 and text.headers["Content-Type"].startswith("text/plain")
    assert "kodewar_queue_depth 7.0" in text.text
    assert 'kodewar_api_requests_total{method="POST",route="/api/v1/submissions",status="202"} 1.0' in text.text
    harness.store.down = True
    assert harness.client.simulate_get("/metrics").status_code == 200
