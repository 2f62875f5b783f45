"""End-to-end benchmark: `POST /api/v1/submissions?wait=true` through the real stack, against floors
measured in the same run (ratios from the same minute, never absolute times alone).

Stacks (kodewar.stack.LocalStack: Redis, the API under gunicorn, one worker), started side by side:
  pool   the warm pool and notified consumers (the defaults)
  cold   no pool: every submission creates, starts and removes its container on its path
  poll   no pool and Dramatiq's own back-off polling: the system before the warm pool (baseline)

Sections:
 1. floors: the same hello-world as a bare host process (python3; gcc + run), bare `podman run --rm`
 2. memory held per idle warm container (PSS of conmon + harness, and MemAvailable drop)
 3. light load: sequential submissions, interleaved across the stacks; where the time goes
 4. saturation: closed loop (several clients per slot) per stack and language; throughput against
    the host's raw container capacity (bare `podman run --rm` starts per second, same run)
 5. latency against offered load (open loop, Poisson arrivals) with backpressure counts; PNG plots

Usage: .venv/bin/python bench/e2e_bench.py [--quick] [--slots 2] [--plots docs]
Writes bench/out/e2e_bench-STAMP.{json,md} and PNGs to --plots; exits 0 (2 when it cannot start).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script
    sys.path.insert(0, str(REPO))

from bench.sandbox_bench import podman_prefix  # noqa: E402
from kodewar.settings import Settings, load_settings  # noqa: E402
from kodewar.stack import LocalStack  # noqa: E402
from sandbox.languages import load_registry  # noqa: E402
from sandbox.podman_api import PodmanAPI  # noqa: E402
from sandbox.pool import WarmPool  # noqa: E402

OUT_DIR = REPO / "bench" / "out"
HOST_PYTHON = "/usr/bin/python3"  # Debian's, as in the image (a pyenv shim would add a shell)
SOURCES = {
    "python": 'print("hello")\n',
    "c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
}
TARGETS = {"python_p50_ms": 150.0, "python_p95_ms": 300.0, "c_p50_ms": 600.0, "throughput_ratio": 0.8}
HTTP_TIMEOUT_S = 60.0
SUBPROCESS_TIMEOUT_S = 120.0
QUEUE_DEPTH = 16  # KODEWAR_MAX_QUEUE_DEPTH of the stacks: ~2-3 s of work at capacity, then 503
API_THREADS = 128  # gunicorn threads per API process: every waiting client holds one
CLIENT_THREADS = 160
HEARTBEAT_LAG_S = 2.5  # above the worker's heartbeat interval (2 s)
STACKS = {
    "pool": {"KODEWAR_POOL": "true", "KODEWAR_CONSUMER_WAKEUP": "true"},
    "cold": {"KODEWAR_POOL": "false", "KODEWAR_CONSUMER_WAKEUP": "true"},
    "poll": {"KODEWAR_POOL": "false", "KODEWAR_CONSUMER_WAKEUP": "false"},
}


class BenchError(RuntimeError):
    pass


# -- statistics -----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def summary(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(sum(ms) / len(ms), 1) if ms else math.nan,
    }


def fmt(value: float, digits: int = 0) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


# -- host facts and floors ------------------------------------------------------------------------


def host_info(settings: Settings) -> dict[str, Any]:
    def out(argv: list[str]) -> str:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
        return "?"

    meminfo = Path("/proc/meminfo").read_text().split()
    return {
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20, 1),
        "kernel": platform.release(),
        "podman": out([*podman_prefix(settings.worker_user), "--version"]),
        "oci_runtime": settings.sandbox.oci_runtime,
        "python": platform.python_version(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def run_checked(argv: list[str], *, cwd: str | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
    if done.returncode != 0:
        raise BenchError(f"{argv[0]} exited {done.returncode}: {(done.stdout + done.stderr)[-300:]}")
    return done.stdout


def host_floor(language: str, work: str) -> Callable[[], None]:
    """The same code as a bare process on the host: no container, no API."""
    if language == "python":
        Path(work, "main.py").write_text(SOURCES["python"])
        return lambda: _expect_hello(run_checked([HOST_PYTHON, "-I", "main.py"], cwd=work, stdin=""))
    Path(work, "main.c").write_text(SOURCES["c"])

    def compile_and_run() -> None:
        run_checked(["gcc", "-O2", "-std=c17", "-o", "main", "main.c", "-lm"], cwd=work)
        _expect_hello(run_checked(["./main"], cwd=work, stdin=""))

    return compile_and_run


def bare_podman(settings: Settings, language: str) -> Callable[[], None]:
    """`podman run --rm` of the language image doing the same work (the source on stdin), the CLI way."""
    image = f"{settings.sandbox.image_prefix}/{language}:latest"
    script = {
        "python": "cat > main.py && python3 -I main.py </dev/null",
        "c": "cat > main.c && gcc -O2 -std=c17 -o main main.c -lm && ./main </dev/null",
    }[language]
    box = "type=tmpfs,destination=/box,tmpfs-size=256m,tmpfs-mode=1777"
    argv = [
        *podman_prefix(settings.worker_user), "run", "--rm", "-i", "--network", "none", "--read-only",
        "--mount", box, "-w", "/box", "--cgroupns=private", "--log-driver", "none",
        "--runtime", settings.sandbox.oci_runtime, image, "sh", "-c", script,
    ]  # fmt: skip
    return lambda: _expect_hello(run_checked(argv, stdin=SOURCES[language]))


def _expect_hello(stdout: str) -> None:
    if stdout.strip() != "hello":
        raise BenchError(f"expected hello, got {stdout[:100]!r}")


def raw_capacity(settings: Settings, concurrency: int, seconds: float) -> float:
    """Bare `podman run --rm` starts per second with `concurrency` at once: the host's raw capacity."""
    run = bare_podman(settings, "python")
    done = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def loop() -> None:
        nonlocal done
        while time.monotonic() < stop_at:
            run()
            with lock:
                done += 1

    started = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.monotonic() - started)


# -- memory per idle warm container ---------------------------------------------------------------


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def mem_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return math.nan


def idle_memory(settings: Settings, count: int) -> dict[str, Any]:
    """Start `count` warm python containers, let them settle, and measure what they hold."""
    registry = load_registry()
    api = PodmanAPI(settings.sandbox.podman_url, settings.sandbox.api_timeout_s)
    config = replace(
        settings.sandbox, pool_min=(("python", count),), pool_max_total=count, pool_max_per_language=count
    )
    before = mem_available_mib()
    pool = WarmPool(config, {"python": registry["python"]}, api, slots=count).start()
    try:
        if not pool.wait_ready("python", count, 120):
            raise BenchError("the warm pool did not fill")
        time.sleep(2.0)
        after = mem_available_mib()
        per_container = []
        for container_id in pool.warm_ids():
            state = api._call("inspect", "get", f"/containers/{container_id}/json").json()["State"]
            per_container.append(pss_kib(int(state["ConmonPid"])) + pss_kib(int(state["Pid"])))
    finally:
        pool.stop()
    return {
        "containers": count,
        "pss_kib_per_container_p50": percentile(per_container, 50),
        "pss_kib_per_container_max": max(per_container),
        "mem_available_drop_mib_per_container": round((before - after) / count, 1),  # noisy: a shared host
    }


# -- the stacks and their clients -----------------------------------------------------------------


@dataclass
class Stack:
    name: str
    local: LocalStack
    token: str = ""
    sessions: threading.local = field(default_factory=threading.local)

    def session(self) -> requests.Session:
        if not hasattr(self.sessions, "s"):
            self.sessions.s = requests.Session()
        return self.sessions.s  # type: ignore[no-any-return]

    def submit(self, language: str) -> tuple[int, float, dict[str, Any]]:
        """(HTTP status, seconds, body) of one POST ?wait=true of the hello-world."""
        body = {"code": SOURCES[language], "language": language, "test_cases": [{"input": "", "expected": "hello"}]}
        headers = {"Authorization": f"Bearer {self.token}"}
        started = time.perf_counter()
        response = self.session().post(
            self.local.url + "/api/v1/submissions", json=body, params={"wait": "true"}, headers=headers,
            timeout=HTTP_TIMEOUT_S,
        )  # fmt: skip
        took = time.perf_counter() - started
        payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        return response.status_code, took, payload

    def hello(self, language: str) -> float:
        status, took, payload = self.submit(language)
        if status != 200 or payload.get("status", {}).get("id") != 3:
            raise BenchError(f"{self.name}/{language}: HTTP {status} {json.dumps(payload)[:300]}")
        return took


@contextlib.contextmanager
def stacks(names: Sequence[str], slots: int, state: Path) -> Iterator[dict[str, Stack]]:
    from tests.integration.service.support import free_port

    started: dict[str, Stack] = {}
    try:
        for name in names:
            env = {
                **STACKS[name],
                "KODEWAR_RATE_LIMIT_PER_MINUTE": "10000000",
                "KODEWAR_MAX_QUEUE_DEPTH": str(QUEUE_DEPTH),
                "KODEWAR_API_THREADS": str(API_THREADS),
            }
            local = LocalStack(
                state / name, api_port=free_port(), redis_port=free_port(), workers=1, slots=slots,
                languages=["python", "c"], worker_metrics_port=0, env=env,
            )  # fmt: skip
            local.start()
            started[name] = Stack(name, local, local.token("bench"))
        yield started
    finally:
        for stack in started.values():
            stack.local.stop()


def pool_stats(stack: Stack) -> dict[str, int]:
    """Warm-pool hits and misses of the stack's worker, from its heartbeat (zero without a pool)."""
    client = stack.local.redis_client()
    totals = {"hits": 0, "misses": 0}
    for key in client.scan_iter(match="kw:worker:*"):
        raw = client.get(key)
        pool = json.loads(raw).get("pool") if raw else None
        for name in totals:
            totals[name] += int((pool or {}).get(name, 0))
    return totals


def hit_share(before: dict[str, int], after: dict[str, int]) -> float:
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    return round(hits / (hits + misses), 3) if hits + misses else math.nan


def breakdown(stack: Stack, language: str, rounds: int) -> dict[str, Any]:
    """Where one submission's time goes, from the record's own timestamps (one host, one clock)."""
    client = stack.local.redis_client()
    parts: dict[str, list[float]] = {k: [] for k in ("api", "queue", "worker", "program", "notify")}
    for _ in range(rounds):
        sent = time.time()
        status, took, payload = stack.submit(language)
        answered = sent + took
        if status != 200:
            continue
        raw: dict[bytes, bytes] = client.hgetall(f"kw:sub:{payload['submission_id']}")  # type: ignore[assignment]
        record = {k.decode(): v.decode() for k, v in raw.items()}
        created, started, finished = (float(record[k]) for k in ("created_at", "started_at", "finished_at"))
        parts["api"].append(created - sent)  # HTTP, auth, validation, rate limit, queue bound, record
        parts["queue"].append(started - created)  # enqueue, consumer wake-up, fetch, claim
        parts["worker"].append(finished - started)  # record read, sandbox (warm or cold), verdict, result write
        parts["program"].append(float(payload["tests"][0]["wall_time"]))  # the program alone, in the sandbox
        parts["notify"].append(answered - finished)  # pub/sub wake of the long-poll, record read, HTTP answer
        time.sleep(0.1)
    return {k: round(percentile(v, 50) * 1000, 1) for k, v in parts.items()}


def light_load(all_stacks: dict[str, Stack], language: str, rounds: int, gap_s: float) -> dict[str, list[float]]:
    """Sequential submissions; each round visits every stack, in a rotating order (drift hits all alike)."""
    samples: dict[str, list[float]] = {name: [] for name in all_stacks}
    names = list(all_stacks)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            samples[name].append(all_stacks[name].hello(language))
            time.sleep(gap_s)
    return samples


def closed_loop(stack: Stack, language: str, clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < stop_at:
            status, took, _ = stack.submit(language)
            with lock:
                codes[status] = codes.get(status, 0) + 1
                if status == 200:
                    latencies.append(took)
            if status != 200:
                time.sleep(0.05)

    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    elapsed = time.monotonic() - started
    return {**summary(latencies), "throughput_per_s": round(len(latencies) / elapsed, 2), "codes": codes}


def open_loop(stack: Stack, language: str, rate_per_s: float, seconds: float, rng: random.Random) -> dict[str, Any]:
    """Poisson arrivals at `rate_per_s`, each a POST ?wait=true; answers counted by status."""
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()

    def one() -> None:
        try:
            status, took, _ = stack.submit(language)
        except requests.RequestException:
            status, took = 599, 0.0
        with lock:
            codes[status] = codes.get(status, 0) + 1
            if status == 200:
                latencies.append(took)

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        at = started
        while at < started + seconds:
            at += rng.expovariate(rate_per_s)
            delay = at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one)
    elapsed = time.monotonic() - started
    total = sum(codes.values())
    rejected = sum(n for code, n in codes.items() if code in (429, 503))
    return {
        "offered_per_s": round(rate_per_s, 2),
        **summary(latencies),
        "answered_per_s": round(len(latencies) / elapsed, 2),
        "rejected_share": round(rejected / total, 3) if total else 0.0,
        "codes": codes,
    }


# -- plots ----------------------------------------------------------------------------------------


def plot(results: dict[str, Any], directory: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    colors = {"pool": "tab:blue", "cold": "tab:orange", "poll": "tab:green"}

    def log_ms_axis(axis: Any) -> None:
        axis.xaxis.set_major_locator(FixedLocator([10, 20, 50, 100, 200, 500, 1000, 2000, 5000]))
        axis.xaxis.set_major_formatter(ScalarFormatter())
        axis.xaxis.set_minor_formatter(NullFormatter())

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    sweep = results.get("sweep", {})
    if sweep:
        figure, (latency_axis, reject_axis) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
        for name, rows in sweep.items():
            offered = [r["offered_per_s"] for r in rows]
            color = colors.get(name)
            latency_axis.plot(offered, [r["p50_ms"] for r in rows], marker="o", color=color, label=f"{name} p50")
            latency_axis.plot(
                offered, [r["p95_ms"] for r in rows], marker="^", linestyle="--", color=color, label=f"{name} p95"
            )
            reject_axis.plot(offered, [100 * r["rejected_share"] for r in rows], marker="o", color=color, label=name)
        capacity = results["saturation"]["pool/python"]["raw_starts_per_s"]
        for axis in (latency_axis, reject_axis):
            axis.axvline(capacity, color="grey", linestyle=":", label="raw podman run capacity")
            axis.grid(alpha=0.3)
        latency_axis.set_yscale("log")
        latency_axis.set_ylabel("latency of answered submissions (ms)")
        latency_axis.set_title("Python hello-world, POST ?wait=true, Poisson arrivals")
        latency_axis.legend(fontsize=8)
        reject_axis.set_ylabel("answered 429/503 (%)")
        reject_axis.set_xlabel("offered load (submissions/s)")
        reject_axis.legend(fontsize=8)
        figure.tight_layout()
        path = directory / "e2e_latency_vs_load.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(str(path))
    light = results.get("light_samples", {})
    if light:
        figure, axes = plt.subplots(1, len(light), figsize=(11, 4))
        for axis, (language, by_stack) in zip(axes if len(light) > 1 else [axes], light.items(), strict=True):
            for name, samples in by_stack.items():
                ordered = sorted(s * 1000 for s in samples)
                shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
                axis.plot(ordered, shares, color=colors.get(name), label=name)
            floor = results["floors"][language]["host_process"]["p50_ms"]
            axis.axvline(floor, color="grey", linestyle=":", label="host process p50")
            axis.set_xscale("log")
            log_ms_axis(axis)
            axis.set_xlabel("end-to-end latency (ms)")
            axis.set_ylabel("share of submissions")
            axis.set_title(f"{language} hello-world, light load")
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
        figure.tight_layout()
        path = directory / "e2e_light_load_cdf.png"
        figure.savefig(path, dpi=110)
        plt.close(figure)
        written.append(str(path))
    return written


# -- the run --------------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    lines = [f"Run {results['started']}, {results['seconds']:.0f} s: `{results['command']}`", ""]
    lines += [f"- {k}: {v}" for k, v in results["host"].items()]
    lines += ["", "**Floors (ms)**", ""]
    rows = []
    for language, floors in results["floors"].items():
        for name, stats in floors.items():
            rows.append([language, name, str(stats["n"]), fmt(stats["p50_ms"]), fmt(stats["p95_ms"])])
    lines += md_table(rows, ["language", "floor", "n", "p50", "p95"])
    memory = results.get("memory")
    if memory:
        lines += ["", "**Idle warm container**", ""]
        lines += [
            f"- PSS of conmon + harness: p50 {memory['pss_kib_per_container_p50'] / 1024:.1f} MiB, "
            f"max {memory['pss_kib_per_container_max'] / 1024:.1f} MiB ({memory['containers']} containers)",
            f"- MemAvailable drop: {memory['mem_available_drop_mib_per_container']} MiB per container "
            "(the whole host's figure: other processes move it too)",
        ]
    lines += ["", "**Light load, end to end (POST ?wait=true), ms**", ""]
    rows = []
    for language, by_stack in results["light"].items():
        floor = results["floors"][language]["host_process"]["p50_ms"]
        base = by_stack["poll"]["p50_ms"] if "poll" in by_stack else math.nan
        for name, stats in by_stack.items():
            rows.append(
                [language, name, str(stats["n"]), fmt(stats["p50_ms"]), fmt(stats["p95_ms"]), fmt(stats["p99_ms"]),
                 f"{stats['p50_ms'] / floor:.1f}x", f"{stats['p50_ms'] / base:.2f}x"]
            )  # fmt: skip
    lines += md_table(rows, ["language", "stack", "n", "p50", "p95", "p99", "p50 / host process", "p50 / poll"])
    if results.get("breakdown"):
        lines += ["", "**Where a light-load submission waits (p50 of each segment, ms)**", ""]
        parts = ["api", "queue", "worker", "program", "notify"]
        rows = [[f"{key}", *[fmt(v[p], 1) for p in parts]] for key, v in results["breakdown"].items()]
        lines += md_table(rows, ["stack/language", *parts])
    capacity = results["capacity"]
    lines += ["", "**Saturation (closed loop), ms and submissions/s**", ""]
    lines += [
        f"raw container capacity (bare `podman run --rm` starts/s) by concurrency: {capacity['per_concurrency']}; "
        "each row below is compared with the raw capacity measured at the best concurrency right before and "
        "right after it (mean of the two)",
        "",
    ]
    rows = []
    for key, stats in results["saturation"].items():
        ratio = stats["throughput_per_s"] / stats["raw_starts_per_s"]
        rows.append(
            [key, str(stats["n"]), fmt(stats["p50_ms"]), fmt(stats["p95_ms"]), fmt(stats["p99_ms"]),
             fmt(stats["throughput_per_s"], 2), fmt(stats["raw_starts_per_s"], 2), f"{ratio:.2f}x",
             fmt(100 * stats["pool_hit_share"]), json.dumps(stats["codes"])]
        )  # fmt: skip
    headers = ["stack/language", "n", "p50", "p95", "p99", "throughput", "raw", "vs raw", "warm hits %", "HTTP codes"]
    lines += md_table(rows, headers)
    if results.get("sweep"):
        lines += ["", "**Latency against offered load (python, open loop)**", ""]
        rows = []
        for name, sweep in results["sweep"].items():
            for r in sweep:
                rows.append(
                    [name, fmt(r["offered_per_s"], 2), fmt(r["answered_per_s"], 2), fmt(r["p50_ms"]),
                     fmt(r["p95_ms"]), fmt(r["p99_ms"]), f"{100 * r['rejected_share']:.1f}%",
                     fmt(100 * r["pool_hit_share"]), json.dumps(r["codes"])]
                )  # fmt: skip
        headers = ["stack", "offered/s", "answered/s", "p50", "p95", "p99", "429/503", "warm hits %", "HTTP codes"]
        lines += md_table(rows, headers)
    lines += ["", "**Targets**", ""]
    lines += [f"- {line}" for line in results["verdicts"]]
    lines += ["", f"- load average at end: {results['load_at_end']}"]
    return "\n".join(lines) + "\n"


def md_table(rows: list[list[str]], headers: list[str]) -> list[str]:
    head = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return [*head, *("| " + " | ".join(r) + " |" for r in rows)]


def verdicts(results: dict[str, Any]) -> list[str]:
    pool = results["light"]
    sat = results["saturation"]
    python = sat.get("pool/python", {})
    ratio = python.get("throughput_per_s", math.nan) / python.get("raw_starts_per_s", math.nan)

    def line(what: str, value: float, target: float, lower: bool = True) -> str:
        ok = value <= target if lower else value >= target
        return f"{what}: {value:.2f} (target {'<=' if lower else '>='} {target}) {'met' if ok else 'MISSED'}"

    return [
        line("python light-load p50 ms", pool["python"]["pool"]["p50_ms"], TARGETS["python_p50_ms"]),
        line("python light-load p95 ms", pool["python"]["pool"]["p95_ms"], TARGETS["python_p95_ms"]),
        line("c light-load p50 ms", pool["c"]["pool"]["p50_ms"], TARGETS["c_p50_ms"]),
        line("python saturation throughput / raw capacity", ratio, TARGETS["throughput_ratio"], lower=False),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer samples, shorter phases (a smoke run)")
    parser.add_argument("--slots", type=int, default=2, help="worker slots of each stack (default 2)")
    parser.add_argument("--plots", default=str(REPO / "docs"), help="where the PNG plots go (default docs/)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = {"python": 12 if quick else 80, "c": 6 if quick else 40}
    phase_s = 6.0 if quick else 15.0
    settings = load_settings()
    if shutil.which("redis-server") is None or shutil.which("gcc") is None:
        print("e2e_bench: needs redis-server and gcc on the host (make deps)", file=sys.stderr)
        return 2
    started_wall, started = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.monotonic()
    results: dict[str, Any] = {
        "started": started_wall,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "host": host_info(settings),
        "settings": {"slots": args.slots, "queue_depth": QUEUE_DEPTH, "phase_s": phase_s, "rounds": rounds},
    }
    print(f"e2e_bench: host {results['host']}", flush=True)

    print("== floors", flush=True)
    floors: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        for language in ("python", "c"):
            host = host_floor(language, work)
            bare = bare_podman(settings, language)
            host()
            bare()
            samples: dict[str, list[float]] = {"host_process": [], "bare_podman_run": []}
            for _ in range(rounds[language] // 4 + 5):
                samples["host_process"].append(timed(host))
                samples["bare_podman_run"].append(timed(bare))
            floors[language] = {k: summary(v) for k, v in samples.items()}
    results["floors"] = floors

    print("== memory per idle warm container", flush=True)
    results["memory"] = idle_memory(settings, 4 if quick else 10)

    print("== raw container capacity", flush=True)
    cores = results["host"]["cores"]
    per_concurrency = {c: round(raw_capacity(settings, c, phase_s), 2) for c in sorted({cores, 2 * cores})}
    results["capacity"] = {"per_concurrency": per_concurrency, "raw_starts_per_s": max(per_concurrency.values())}
    best_concurrency = max(per_concurrency, key=lambda c: per_concurrency[c])

    rng = random.Random(args.seed)
    state = tempfile.TemporaryDirectory(prefix="kodewar-e2e-")
    with state, stacks(list(STACKS), args.slots, Path(state.name)) as up:
        print("== light load", flush=True)
        for stack in up.values():  # first use grows each language's pool; the first runs are cold
            for language in ("python", "c"):
                for _ in range(3):
                    stack.hello(language)
                    time.sleep(0.5)
        light_samples = {lang: light_load(up, lang, rounds[lang], 0.15) for lang in ("python", "c")}
        results["light_samples"] = light_samples
        results["light"] = {
            lang: {name: summary(s) for name, s in by_stack.items()} for lang, by_stack in light_samples.items()
        }
        results["breakdown"] = {
            f"{name}/{lang}": breakdown(up[name], lang, 8 if quick else 20) for name in up for lang in ("python", "c")
        }
        print(json.dumps(results["light"], indent=1), flush=True)

        print("== saturation", flush=True)
        clients = 4 * args.slots
        results["saturation"] = {}
        for name in ("pool", "cold"):
            for language in ("python", "c"):
                key = f"{name}/{language}"
                before = pool_stats(up[name])
                raw_before = raw_capacity(settings, best_concurrency, phase_s / 2)
                results["saturation"][key] = closed_loop(up[name], language, clients, phase_s)
                raw_after = raw_capacity(settings, best_concurrency, phase_s / 2)
                time.sleep(HEARTBEAT_LAG_S)
                results["saturation"][key]["raw_starts_per_s"] = round((raw_before + raw_after) / 2, 2)
                results["saturation"][key]["pool_hit_share"] = hit_share(before, pool_stats(up[name]))
                print(key, results["saturation"][key], flush=True)

        print("== latency against offered load", flush=True)
        results["sweep"] = {}
        for name in ("pool", "cold"):
            capacity = results["saturation"][f"{name}/python"]["throughput_per_s"]
            fractions = (0.25, 0.75, 1.25) if quick else (0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.2, 1.5)
            rows = []
            for fraction in fractions:
                before = pool_stats(up[name])
                rows.append(open_loop(up[name], "python", max(0.2, fraction * capacity), phase_s, rng))
                time.sleep(HEARTBEAT_LAG_S)  # the queue drains, and the heartbeat catches up
                rows[-1]["pool_hit_share"] = hit_share(before, pool_stats(up[name]))
                print(name, rows[-1], flush=True)
            results["sweep"][name] = rows

    results["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = time.monotonic() - started
    results["verdicts"] = verdicts(results)
    results["plots"] = plot(results, Path(args.plots))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text = markdown(results)
    (OUT_DIR / f"e2e_bench-{stamp}.md").write_text(text)
    (OUT_DIR / f"e2e_bench-{stamp}.json").write_text(json.dumps(results, indent=1, default=str))
    print(text)
    print(f"wrote {OUT_DIR}/e2e_bench-{stamp}.{{md,json}} and {', '.join(results['plots'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
