"""Clients of the fleet under test: its API, its metrics endpoints and its Redis, from the test machine."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from actors.store import DONE_CHANNEL, Record, SubmissionStore
from tests.fleet.support import FleetError

HTTP_TIMEOUT_S = 10


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(self.base_url + path, params=params, timeout=HTTP_TIMEOUT_S)
        response.raise_for_status()
        return response.json()

    def submit(self, body: Mapping[str, Any]) -> str:
        response = self.session.post(self.base_url + "/api/v1/submissions", json=body, timeout=HTTP_TIMEOUT_S)
        if response.status_code != 202:
            raise FleetError(f"POST /api/v1/submissions: {response.status_code} {response.text[:500]}")
        return str(response.json()["submission_id"])

    def views(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            for view in self.get("/api/v1/submissions/batch", ids=",".join(chunk))["submissions"]:
                if view is not None:
                    found[view["submission_id"]] = view
        return found

    def workers(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/workers")["workers"])

    def wait_finished(
        self, ids: Sequence[str], timeout_s: float, on_poll: Any = None, poll_s: float = 0.25
    ) -> dict[str, dict[str, Any]]:
        """Poll until every submission has a final status; on_poll() runs between polls."""
        deadline = time.monotonic() + timeout_s
        while True:
            views = self.views(ids)
            pending = [i for i in ids if i not in views or views[i]["status"]["id"] in (1, 2)]
            if not pending:
                return views
            if time.monotonic() > deadline:
                raise FleetError(f"{len(pending)} of {len(ids)} submissions unfinished after {timeout_s} s")
            if on_poll is not None:
                on_poll()
            time.sleep(poll_s)


def scrape(url: str) -> dict[str, Any]:
    """Metric families by name (counters without their _total suffix, as the parser names them)."""
    response = requests.get(url, timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def sample_sum(families: Mapping[str, Any], name: str, suffix: str = "", **labels: str) -> float:
    """Sum of a family's samples named name+suffix whose labels include `labels`."""
    family = families.get(name)
    if family is None:
        return 0.0
    return sum(
        s.value
        for s in family.samples
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    )


class Observer:
    """Watches the fleet's Redis from the test machine: records, and every 'result written' event."""

    def __init__(self, port: int, password: str) -> None:
        self.client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=HTTP_TIMEOUT_S)
        self.store = SubmissionStore(self.client)
        self.done: Counter[str] = Counter()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="done-events", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(HTTP_TIMEOUT_S):
            raise FleetError("could not subscribe to the result events")

    def _listen(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        pubsub.psubscribe(DONE_CHANNEL + "*")
        self._ready.set()
        try:
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    channel = message["channel"].decode()
                    self.done[channel[len(DONE_CHANNEL) :]] += 1
        finally:
            pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def records(self, ids: Iterable[str]) -> dict[str, Record]:
        ids = list(ids)
        return {i: r for i, r in zip(ids, self.store.get_many(ids), strict=True) if r is not None}

    def processing_on(self, host: str, ids: Iterable[str]) -> set[str]:
        """Submissions a worker of `host` has claimed and not finished."""
        return {
            i for i, r in self.records(ids).items() if r.status.value == 2 and (r.worker or "").startswith(host + ":")
        }


def host_of(worker_id: str | None) -> str:
    """'kw-fleet-w1:1234:abcdef' -> 'kw-fleet-w1'."""
    return (worker_id or "").split(":", 1)[0]


def sleepy_submission(number: int, sleep_s: float, correct: bool = True) -> dict[str, Any]:
    """A stdio Python submission that sleeps, then doubles its input; wrong expectations on purpose
    give Wrong Answer, so a verdict mixed up between submissions would show."""
    expected = 2 * number if correct else 2 * number + 1
    return {
        "language": "python",
        "code": f"import time\ntime.sleep({sleep_s})\nprint(int(input()) * 2)\n",
        "test_cases": [{"input": str(number), "expected": str(expected)}],
    }


def check_verdicts(views: Mapping[str, Mapping[str, Any]], expected: Mapping[str, tuple[int, bool]]) -> list[str]:
    """Problems with the finished submissions: id -> (input number, whether the expectation is right)."""
    problems = []
    for submission_id, (number, correct) in expected.items():
        view = views[submission_id]
        want = 3 if correct else 4  # Accepted, Wrong Answer
        tests = view.get("tests") or [{}]
        stdout = str(tests[0].get("stdout", "")).strip()
        if view["status"]["id"] != want or stdout != str(2 * number):
            problems.append(f"{submission_id}: {view['status']}, stdout {stdout!r}; wanted {want}, {2 * number}")
    return problems
