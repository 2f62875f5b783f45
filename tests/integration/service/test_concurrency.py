"""Many users at once: every submission gets its own correct verdict, and every result is written once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from actors.store import SubmissionStore
from kodewar.stack import LocalStack
from tests.integration.service.conftest import ClientFactory, live_workers, metrics_port, process_of
from tests.integration.service.support import ACCEPTED, WRONG_ANSWER, Client, scrape, status_id

CLIENTS = 10
PER_CLIENT = 5
SUITE_TIMEOUT_S = 90.0


def job(client_index: int, item: int) -> tuple[dict[str, Any], int, str]:
    """(body, expected verdict, expected stdout): distinct inputs, so a swapped result would show."""
    n = client_index * 100 + item
    if item % 2:
        code, verdict, out = "def solution(x): return x * 2 + 1", WRONG_ANSWER, str(2 * n + 1)
    else:
        code, verdict, out = "def solution(x): return x * 2", ACCEPTED, str(2 * n)
    body = {"code": code, "language": "python", "test_cases": [{"input": str(n), "expected": str(2 * n)}]}
    return body, verdict, out


def run_client(api: Client, client_index: int) -> list[tuple[str, int, str, dict[str, Any]]]:
    submitted = []
    for item in range(PER_CLIENT):
        body, verdict, out = job(client_index, item)
        response = api.post("/api/v1/submissions", body)
        assert response.status_code == 202, response.text
        submitted.append((response.json()["submission_id"], verdict, out))
    return [(sid, verdict, out, api.wait_finished(sid, SUITE_TIMEOUT_S)) for sid, verdict, out in submitted]


def finished_total(stack: LocalStack) -> float:
    ports = [metrics_port(stack, process_of(stack, int(beat["pid"]))) for beat in live_workers(stack).values()]  # type: ignore[call-overload]
    return sum(scrape(port, "kodewar_submissions_total") for port in ports)


def test_fifty_submissions_from_ten_clients(stack: LocalStack, client: ClientFactory) -> None:
    before = finished_total(stack)
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(run_client, client(f"user-{i}"), i) for i in range(CLIENTS)]
        outcomes = [row for future in futures for row in future.result(timeout=SUITE_TIMEOUT_S)]
    elapsed = time.monotonic() - started
    print(f"{CLIENTS * PER_CLIENT} submissions from {CLIENTS} clients finished in {elapsed:.1f} s")

    assert len(outcomes) == CLIENTS * PER_CLIENT
    assert len({sid for sid, *_ in outcomes}) == CLIENTS * PER_CLIENT
    for sid, verdict, out, view in outcomes:
        assert view["submission_id"] == sid
        assert status_id(view) == verdict, view
        assert view["tests"][0]["stdout"].strip() == out, view

    store = SubmissionStore(stack.redis_client())
    records = store.get_many([sid for sid, *_ in outcomes])
    assert all(r is not None and r.attempts == 1 for r in records), [(r.id, r.attempts) for r in records if r]
    processing = {i for i, _owner in store.processing()}
    assert not processing & {sid for sid, *_ in outcomes}
    assert finished_total(stack) - before == CLIENTS * PER_CLIENT  # one finish each, on all workers together
