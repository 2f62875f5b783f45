"""`kodewar submit/status/workers` against a scripted HTTP server on 127.0.0.1: progress, errors, exit codes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from kodewar import client
from kodewar.cli import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE, main

TOKEN = "t0k.en.sig"
IN_QUEUE = {"id": 1, "description": "In Queue"}
PROCESSING = {"id": 2, "description": "Processing"}
ACCEPTED = {"id": 3, "description": "Accepted"}
WRONG = {"id": 4, "description": "Wrong Answer"}

Answer = tuple[int, Any]  # (HTTP status, JSON body or raw str)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    """Routes (method, path) to a queue of answers (the last one repeats) or a function of the request."""

    url: str = ""
    routes: dict[tuple[str, str], list[Answer] | Callable[[Seen], Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, request: Seen) -> Answer:
        self.seen.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return 404, {"error": "not_found", "message": "no such route"}
        if callable(route):
            return route(request)
        return route.pop(0) if len(route) > 1 else route[0]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Seen(
                self.command, parts.path, parse_qs(parts.query), dict(self.headers), json.loads(raw) if raw else None
            )
            status, body = fake.answer(request)
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KODEWAR_URL", raising=False)
    monkeypatch.delenv("KODEWAR_TOKEN", raising=False)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "main.py"
    path.write_text("def solution(x): return x * 2\n")
    return path


@pytest.fixture
def tests_file(tmp_path: Path) -> Path:
    path = tmp_path / "tests.json"
    path.write_text(json.dumps([{"input": "2", "expected": "4"}]))
    return path


def result(status: dict[str, Any] = ACCEPTED, submission_id: str = "abc") -> dict[str, Any]:
    test = {
        "index": 0,
        "status": status,
        "passed": status == ACCEPTED,
        "time": 0.03,
        "wall_time": 0.05,
        "memory": 12000,
        "exit_code": 0,
        "signal": None,
        "stdout": "4\n",
        "stderr": "",
        "message": None,
    }
    return {
        "submission_id": submission_id,
        "status": status,
        "language": "python",
        "compile_output": "",
        "message": None,
        "passed": int(status == ACCEPTED),
        "total": 1,
        "tests": [test],
    }


def queued(submission_id: str = "abc") -> Answer:
    return 202, {"submission_id": submission_id, "status": IN_QUEUE, "language": "python"}


def submit_argv(api: FakeApi, source: Path, tests_file: Path, *extra: str) -> list[str]:
    return [
        "submit",
        str(source),
        "-l",
        "python",
        "--tests",
        str(tests_file),
        "--url",
        api.url,
        "--token",
        TOKEN,
        *extra,
    ]


def test_submit_reports_each_status_change_then_prints_the_table(
    api: FakeApi, source: Path, tests_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.routes[("POST", "/api/v1/submissions")] = [queued()]
    api.routes[("GET", "/api/v1/submissions/abc")] = [
        queued(),
        (202, {"submission_id": "abc", "status": PROCESSING}),
        (202, {"submission_id": "abc", "status": PROCESSING}),
        (200, result()),
    ]
    assert main(submit_argv(api, source, tests_file)) == EXIT_OK
    out, err = capsys.readouterr()
    assert "Accepted: 1/1 passed" in out and "4\\n" in out
    assert err.count("In Queue") == 1 and err.count("Processing") == 1 and err.count("Accepted") == 1
    assert err.index("In Queue") < err.index("Processing") < err.index("Accepted")
    assert "submission abc" in err

    post, *polls = api.seen
    assert post.body == {
        "code": "def solution(x): return x * 2\n",
        "language": "python",
        "test_cases": [{"input": "2", "expected": "4"}],
        "limits": {},
    }
    assert all(s.headers["Authorization"] == f"Bearer {TOKEN}" for s in api.seen)
    assert len(polls) == 4 and all(p.query["wait"] == [f"{client.POLL_WAIT_S:g}"] for p in polls)


def test_any_verdict_exits_0_and_json_prints_the_final_answer(
    api: FakeApi, source: Path, tests_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.routes[("POST", "/api/v1/submissions")] = [queued()]
    api.routes[("GET", "/api/v1/submissions/abc")] = [(200, result(WRONG))]
    assert main(submit_argv(api, source, tests_file, "--json")) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == result(WRONG)


def test_time_limit_brings_a_wall_limit_and_url_and_token_come_from_the_environment(
    api: FakeApi, source: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KODEWAR_URL", api.url + "/")
    monkeypatch.setenv("KODEWAR_TOKEN", TOKEN)
    api.routes[("POST", "/api/v1/submissions")] = [(200, result())]  # finished at once: no poll
    assert main(["submit", str(source), "-l", "python", "--stdin", "7", "--time-limit", "2"]) == EXIT_OK
    (post,) = api.seen
    assert post.body["limits"] == {"cpu_time_s": 2.0, "wall_time_s": 4.0} and post.body["stdin"] == "7"
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("answer", "code", "expected"),
    [
        (
            (
                422,
                {
                    "error": "invalid",
                    "message": "limits.memory_mb: 9999 is above the maximum 512",
                    "field": "limits.memory_mb",
                },
            ),
            EXIT_USAGE,
            ["422 invalid", "above the maximum 512", "(field: limits.memory_mb)"],
        ),
        ((401, {"error": "unauthorized", "message": "token expired"}), EXIT_USAGE, ["token expired", "KODEWAR_TOKEN"]),
        ((403, {"error": "forbidden", "message": "this needs the 'submit' scope"}), EXIT_USAGE, ["'submit' scope"]),
        ((429, {"error": "rate_limited", "message": "more than 600 submissions a minute"}), EXIT_USAGE, ["429"]),
        (
            (503, {"error": "unavailable", "message": "the queue is full (1000 pending); retry later"}),
            EXIT_UNAVAILABLE,
            ["503", "the queue is full"],
        ),
        ((500, {"error": "internal", "message": "internal error; it has been logged"}), EXIT_UNAVAILABLE, ["500"]),
        ((502, "<html>Bad Gateway</html>"), EXIT_UNAVAILABLE, ["502"]),
        ((200, "hello, I am not KodeWar"), EXIT_UNAVAILABLE, ["did not answer with JSON"]),
        ((404, "<html>nginx</html>"), EXIT_UNAVAILABLE, ["without a JSON error"]),
    ],
)
def test_api_errors_become_one_line_and_the_promised_exit_code(
    api: FakeApi,
    source: Path,
    tests_file: Path,
    capsys: pytest.CaptureFixture[str],
    answer: Answer,
    code: int,
    expected: list[str],
) -> None:
    api.routes[("POST", "/api/v1/submissions")] = [answer]
    assert main(submit_argv(api, source, tests_file)) == code
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err and err.startswith("kodewar: ")
    for text in expected:
        assert text in err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_api_exits_3(source: Path, tests_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    argv = ["submit", str(source), "-l", "python", "--tests", str(tests_file), "--url", url, "--token", TOKEN]
    assert main(argv) == EXIT_UNAVAILABLE
    assert f"cannot reach the KodeWar API at {url}" in capsys.readouterr().err


def test_a_missing_token_is_a_usage_error_before_any_request(
    api: FakeApi, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", str(source), "-l", "python", "--url", api.url]) == EXIT_USAGE
    assert "--token" in (err := capsys.readouterr().err) and "KODEWAR_TOKEN" in err
    assert main(["workers", "--url", api.url]) == EXIT_USAGE
    assert main(["status", "abc", "--url", api.url, "--token", " "]) == EXIT_USAGE
    assert api.seen == []


def test_bad_local_input_sends_nothing(api: FakeApi, source: Path, tests_file: Path) -> None:
    assert main(submit_argv(api, source, tests_file, "--stdin", "x")) == EXIT_USAGE
    assert main(["submit", "/nonexistent.py", "-l", "python", "--url", api.url, "--token", TOKEN]) == EXIT_USAGE
    assert api.seen == []


def test_a_server_that_hangs_times_out_with_exit_3(
    api: FakeApi, source: Path, tests_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(client, "READ_SLACK_S", 0.3)

    def slow(request: Seen) -> Answer:
        time.sleep(1.0)
        return queued()

    api.routes[("POST", "/api/v1/submissions")] = slow
    assert main(submit_argv(api, source, tests_file)) == EXIT_UNAVAILABLE
    assert "did not answer in time" in capsys.readouterr().err


def test_submit_gives_up_after_its_timeout_naming_the_submission(
    api: FakeApi, source: Path, tests_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def long_poll(request: Seen) -> Answer:
        time.sleep(min(float(request.query["wait"][0]), 0.1))
        return queued()

    api.routes[("POST", "/api/v1/submissions")] = [queued()]
    api.routes[("GET", "/api/v1/submissions/abc")] = long_poll
    started = time.monotonic()
    assert main(submit_argv(api, source, tests_file, "--timeout", "0.5")) == EXIT_UNAVAILABLE
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert "abc is still In Queue after 0.5 s" in err and "kodewar status" in err
    assert all(0 < float(s.query["wait"][0]) <= 0.5 for s in api.seen[1:])


def test_status_without_wait_shows_the_state_and_with_wait_the_verdict(
    api: FakeApi, capsys: pytest.CaptureFixture[str]
) -> None:
    api.routes[("GET", "/api/v1/submissions/abc")] = [
        (202, {"submission_id": "abc", "status": PROCESSING}),
        (202, {"submission_id": "abc", "status": PROCESSING}),
        (200, result()),
    ]
    assert main(["status", "abc", "--url", api.url, "--token", TOKEN]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "abc: Processing (no verdict yet)"
    assert "wait" not in api.seen[0].query
    assert main(["status", "abc", "--url", api.url, "--token", TOKEN, "--wait"]) == EXIT_OK
    out, err = capsys.readouterr()
    assert "Accepted: 1/1 passed" in out and "Processing" in err and "Accepted" in err


def test_status_of_an_unknown_submission_exits_2(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "nope", "--url", api.url, "--token", TOKEN, "--json"]) == EXIT_USAGE
    assert "404 not_found" in capsys.readouterr().err


def test_workers_table_and_json(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    payload = {
        "workers": [
            {
                "worker_id": "vm:10:aa",
                "host": "vm",
                "languages": ["c", "python"],
                "slots": 2,
                "busy": 1,
                "last_heartbeat": now - 3.0,
            },
            {
                "worker_id": "vm:11:bb",
                "host": "vm2",
                "languages": ["java"],
                "slots": 4,
                "busy": 0,
                "last_heartbeat": now - 1.0,
            },
        ],
        "total_slots": 6,
    }
    api.routes[("GET", "/api/v1/workers")] = [(200, payload)]
    assert main(["workers", "--url", api.url, "--token", TOKEN]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["worker", "host", "languages", "busy/slots", "heartbeat", "s", "ago"]
    first = lines[2].split()
    assert first[:5] == ["vm:10:aa", "vm", "c", "python", "1/2"] and 2.5 < float(first[5]) < 10
    assert lines[-1] == "2 worker(s), 1/6 slots busy"
    assert main(["workers", "--url", api.url, "--token", TOKEN, "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == payload


def test_no_workers_says_how_to_start_one(api: FakeApi, capsys: pytest.CaptureFixture[str]) -> None:
    api.routes[("GET", "/api/v1/workers")] = [(200, {"workers": [], "total_slots": 0})]
    assert main(["workers", "--url", api.url, "--token", TOKEN]) == EXIT_OK
    assert "no live worker" in capsys.readouterr().out
