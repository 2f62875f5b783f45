"""Service benchmark (issue 3): the API and queue against the sandbox alone, measured in one run.

1. Submit-to-result latency of a Python hello-world through `POST /api/v1/submissions?wait=true`
   against `kodewar run` of the same file (the CLI a user would run) and against `Runner.run`
   in-process, interleaved.
2. Sustained throughput with one worker process (slots = cores) at concurrency = cores against
   the sandbox alone (Runner.run in a thread pool of the same size).
3. `POST /api/v1/submissions` requests/s (no wait; no worker, so only the API and Redis work)
   against a bare Falcon endpoint served by gunicorn with the same settings.

Usage: .venv/bin/python bench/service_bench.py [--iterations 20] [--throughput 40] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kodewar.settings import load_settings  # noqa: E402
from kodewar.stack import LocalStack  # noqa: E402
from sandbox.languages import load_registry  # noqa: E402
from sandbox.runner import Runner  # noqa: E402
from sandbox.submission import build_submission  # noqa: E402

HELLO = 'print("hello, world")\n'
BODY = {"code": HELLO, "language": "python", "test_cases": [{"input": "", "expected": "hello, world"}]}
BARE_APP = """
import falcon

class Submissions:
    def on_post(self, req, resp):
        req.get_media()
        resp.status = falcon.HTTP_202
        resp.media = {"submission_id": "00000000-0000-0000-0000-000000000000", "status": {"id": 1}}

app = falcon.App()
app.add_route("/api/v1/submissions", Submissions())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"n": len(samples), "p50_ms": 1000 * percentile(samples, 0.5), "p95_ms": 1000 * percentile(samples, 0.95)}


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def check(view: dict[str, Any]) -> None:
    if view["status"]["id"] != 3:
        raise RuntimeError(f"expected Accepted, got {view['status']}: {json.dumps(view)[:300]}")


def latency(stack: LocalStack, runner: Runner, iterations: int) -> dict[str, Any]:
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + stack.token("bench")
    source = Path(tempfile.mkdtemp()) / "hello.py"
    source.write_text(HELLO)
    cli = [str(REPO / ".venv" / "bin" / "kodewar"), "run", str(source), "--language", "python", "--json"]
    submission = build_submission(BODY, load_registry(), runner.config.policy)

    def service() -> None:
        check(session.post(stack.url + "/api/v1/submissions?wait=true", json=BODY, timeout=60).json())

    def kodewar_run() -> None:
        out = subprocess.run(cli, capture_output=True, text=True, check=True)
        if json.loads(out.stdout)["status"]["id"] != 3:
            raise RuntimeError(out.stdout[:300])

    def sandbox() -> None:
        if runner.run(submission).status.value != 3:
            raise RuntimeError("sandbox run not Accepted")

    variants = {"service (API, wait=true)": service, "kodewar run (CLI)": kodewar_run, "Runner.run": sandbox}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for action in variants.values():  # warm-up, not recorded
        action()
    for _ in range(iterations):  # interleaved, so drift hits every variant alike
        for name, action in variants.items():
            samples[name].append(timed(action))
    return {name: summary(values) for name, values in samples.items()}


def throughput(stack: LocalStack, runner: Runner, count: int, concurrency: int) -> dict[str, Any]:
    session_local = threading.local()
    token = stack.token("bench-throughput")
    submission = build_submission(BODY, load_registry(), runner.config.policy)

    def service_one(_: int) -> None:
        if not hasattr(session_local, "s"):
            session_local.s = requests.Session()
            session_local.s.headers["Authorization"] = "Bearer " + token
        check(session_local.s.post(stack.url + "/api/v1/submissions?wait=true", json=BODY, timeout=120).json())

    def sandbox_one(_: int) -> None:
        if runner.run(submission).status.value != 3:
            raise RuntimeError("sandbox run not Accepted")

    rates = {}
    for name, one in (("service", service_one), ("sandbox alone", sandbox_one)):
        with ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            list(pool.map(one, range(count)))
            rates[name] = count / (time.perf_counter() - started)
    return {"count": count, "concurrency": concurrency, "per_s": rates}


def hammer(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    """Requests/s of POSTs by `concurrency` keep-alive clients for `seconds`."""
    deadline = time.perf_counter() + seconds
    counts = [0] * concurrency

    def client(index: int) -> None:
        session = requests.Session()
        session.headers.update(headers)
        while time.perf_counter() < deadline:
            response = session.post(url, json=BODY, timeout=10)
            if response.status_code != 202:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
            counts[index] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(client, range(concurrency)))
    return sum(counts) / (time.perf_counter() - started)


def request_rate(state: Path, seconds: float, concurrency: int) -> dict[str, float]:
    env = {"KODEWAR_RATE_LIMIT_PER_MINUTE": "100000000", "KODEWAR_MAX_QUEUE_DEPTH": "100000000"}
    api_port, redis_port = free_port(), free_port()
    with LocalStack(state / "rate", api_port=api_port, redis_port=redis_port, workers=0, env=env) as stack:
        headers = {"Authorization": "Bearer " + stack.token("bench-rate")}
        service = hammer(stack.url + "/api/v1/submissions", headers, seconds, concurrency)
        stack.redis_client().flushdb()
    app_dir = Path(tempfile.mkdtemp())
    (app_dir / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(REPO / "api" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(app_dir),
            "bare_app:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp()},
    )
    try:
        for _ in range(100):
            try:
                requests.post(f"http://127.0.0.1:{port}/api/v1/submissions", json=BODY, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        bare = hammer(f"http://127.0.0.1:{port}/api/v1/submissions", {}, seconds, concurrency)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
    return {"service_per_s": service, "bare_falcon_per_s": bare}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--throughput", type=int, default=40, help="submissions in the throughput runs")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each request-rate run")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 2
    settings = load_settings()
    runner = Runner(settings.sandbox)
    state = Path(tempfile.mkdtemp(prefix="kodewar-bench-"))
    with LocalStack(
        state / "stack",
        api_port=free_port(),
        redis_port=free_port(),
        workers=1,
        slots=cores,
        languages=["python"],
        worker_metrics_port=0,
        env={"KODEWAR_RATE_LIMIT_PER_MINUTE": "100000"},
    ) as stack:
        lat = latency(stack, runner, args.iterations)
        thr = throughput(stack, runner, args.throughput, cores)
    rate = request_rate(state, args.seconds, concurrency=2 * cores)
    service_ms = lat["service (API, wait=true)"]["p50_ms"]
    cli_ms = lat["kodewar run (CLI)"]["p50_ms"]
    ratios = {
        "latency service / kodewar run (p50), target <= 1.2": service_ms / cli_ms,
        "latency service / Runner.run (p50)": service_ms / lat["Runner.run"]["p50_ms"],
        "throughput service / sandbox alone, target >= 0.8": thr["per_s"]["service"] / thr["per_s"]["sandbox alone"],
        "POST rate service / bare Falcon": rate["service_per_s"] / rate["bare_falcon_per_s"],
    }
    print(f"cores: {cores}, load before: {os.getloadavg()}")
    print("\nlatency (python hello-world, ms):")
    for name, row in lat.items():
        print(f"  {name:28s} p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}  (n={row['n']})")
    print(f"\nthroughput at concurrency {cores} over {args.throughput} submissions (per s):")
    for name, value in thr["per_s"].items():
        print(f"  {name:28s} {value:7.2f}")
    print(f"\nPOST /api/v1/submissions, {2 * cores} keep-alive clients, {args.seconds:.0f} s (requests/s):")
    print(f"  {'service (validate+Redis)':28s} {rate['service_per_s']:7.0f}")
    print(f"  {'bare Falcon endpoint':28s} {rate['bare_falcon_per_s']:7.0f}")
    print("\nratios:")
    for name, value in ratios.items():
        print(f"  {name}: {value:.2f}")
    out = REPO / "bench" / "out"
    out.mkdir(exist_ok=True)
    result = {"latency": lat, "throughput": thr, "request_rate": rate, "ratios": ratios}
    (out / "service_bench.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
