"""Sandbox benchmarks, measured in one run so every ratio compares figures from the same minute.

Compared variants are interleaved (ABC, BCA, CAB, ...) so that drift on the machine (page cache,
a neighbour's load, the podman service warming up) hits each of them equally. Sections:

1. hello-world latency per language: the whole `kodewar run` process, the in-process `Runner.run`,
   and a bare `podman run --rm` of the same image doing the same work (write the source, compile,
   run), as the worker user with `--network none`;
2. one submission with 1 test against the same with 20 tests (Runner.run);
3. throughput at concurrency = cores: Runner.run in a thread pool against bare `podman run --rm`;
4. where one Python hello-world spends its time, timed call by call on the podman API.

Usage: .venv/bin/python bench/sandbox_bench.py [--languages python c ...] [--iterations 20]
Prints tables and ratios, writes a JSON summary and the tables as Markdown to bench/out/ and exits 0
(2 when it cannot start; a language whose runs fail is reported and left out).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import pwd
import secrets
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a plain script: `python bench/sandbox_bench.py`
    sys.path.insert(0, str(REPO))

from kodewar.render import table  # noqa: E402
from kodewar.settings import Settings, load_settings  # noqa: E402
from sandbox.job import build_job, sandbox_uid  # noqa: E402
from sandbox.languages import Language, load_registry  # noqa: E402
from sandbox.podman_api import PodmanAPI, SandboxUnavailable  # noqa: E402
from sandbox.runner import Runner, SandboxError  # noqa: E402
from sandbox.spec import container_spec  # noqa: E402
from sandbox.statuses import Status  # noqa: E402
from sandbox.submission import Submission, build_submission  # noqa: E402

OUT_DIR = REPO / "bench" / "out"
PYTHON_TARGET_RATIO = 1.3  # issue: Python hello-world at most 1.3x a bare `podman run --rm`
SCALING_TARGET_RATIO = 1.5  # issue: 20 tests at most 1.5x one test
SCALING_TESTS = 20
SECTIONS = ("latency", "scaling", "throughput", "split")  # throughput and split run on Python only
BARE_UID = 23456  # the uid the bare baseline runs as (the sandbox's own uids are random per run)
SUBPROCESS_TIMEOUT_S = 120.0
SPLIT_DEADLINE_S = 60.0
SPLIT_READ_CAP_BYTES = 16 * 1024 * 1024
HELLO = "hello"

# Hello world per language key; a language missing here is listed as skipped, never guessed.
HELLO_SOURCES = {
    "python": 'print("hello")\n',
    "javascript": 'console.log("hello");\n',
    "bash": "echo hello\n",
    "c": '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { std::cout << "hello\\n"; return 0; }\n',
    "go": 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n',
    "java": 'public class Main {\n  public static void main(String[] a) { System.out.println("hello"); }\n}\n',
    "rust": 'fn main() { println!("hello"); }\n',
}

# Reads one integer, prints twice it: the program behind the 1-test / 20-test comparison.
DOUBLE_SOURCES = {
    "python": "print(int(input()) * 2)\n",
    "javascript": 'const x = parseInt(require("fs").readFileSync(0, "utf8"), 10);\nconsole.log(2 * x);\n',
    "bash": "read -r x\necho $((x * 2))\n",
    "c": '#include <stdio.h>\nint main(void) { long x; if (scanf("%ld", &x) != 1) return 1;'
    ' printf("%ld\\n", 2 * x); return 0; }\n',
    "cpp": '#include <iostream>\nint main() { long x; std::cin >> x; std::cout << 2 * x << "\\n"; return 0; }\n',
    "go": 'package main\n\nimport "fmt"\n\nfunc main() { var x int; fmt.Scan(&x); fmt.Println(2 * x) }\n',
    "java": "import java.util.Scanner;\npublic class Main {\n  public static void main(String[] a) {"
    " System.out.println(2 * new Scanner(System.in).nextLong()); }\n}\n",
    "rust": "use std::io::Read;\nfn main() { let mut s = String::new(); std::io::stdin().read_to_string(&mut s)"
    ".unwrap(); let x: i64 = s.trim().parse().unwrap(); println!(\"{}\", 2 * x); }\n",
}


class BenchError(RuntimeError):
    """One measured run did not do what it should (wrong output, non-zero exit): its figure is void."""


# What leaves one language out of a section instead of ending the whole run.
RUN_FAILURES = (BenchError, SandboxUnavailable, SandboxError, subprocess.TimeoutExpired)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:400]


# ---------------------------------------------------------------------------------------------- #
# statistics and formatting


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), q in [0, 1]."""
    ordered = sorted(samples)
    if not ordered:
        return math.nan
    k = (len(ordered) - 1) * q
    low = math.floor(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f}"


def ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else math.nan


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def verdict(value: float, target: float) -> str:
    if math.isnan(value):
        return "not measured"
    return "holds" if value <= target else "MISSED"


@dataclass
class Samples:
    """Wall times (s) of one variant; summarised as p50/p95."""

    values: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    @property
    def p50(self) -> float:
        return percentile(self.values, 0.5)

    @property
    def p95(self) -> float:
        return percentile(self.values, 0.95)

    def as_dict(self) -> dict[str, object]:
        return {"n": len(self.values), "p50_s": round(self.p50, 4), "p95_s": round(self.p95, 4),
                "samples_s": [round(v, 4) for v in self.values]}


def interleaved(variants: dict[str, Callable[[], None]], iterations: int, warmup: int = 1) -> dict[str, Samples]:
    """Run every variant `iterations` times, rotating the order each round (ABC, BCA, CAB, ...)."""
    names = list(variants)
    for _ in range(warmup):  # first runs load image layers and compile caches: not counted
        for name in names:
            variants[name]()
    samples = {name: Samples() for name in names}
    for i in range(iterations):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            variants[name]()
            samples[name].add(time.perf_counter() - started)
    return samples


# ---------------------------------------------------------------------------------------------- #
# the three ways of running one submission


def check_result(result: dict[str, Any], expected: Sequence[str] | None) -> None:
    if result["status"]["id"] != Status.ACCEPTED:
        detail = result.get("message") or result.get("compile_output") or result["tests"][0].get("stderr")
        raise BenchError(f"status {result['status']['description']}: {str(detail)[:300]}")
    if expected is not None:
        got = [t["stdout"].strip() for t in result["tests"]]
        if got != list(expected):
            raise BenchError(f"unexpected output {got[:3]!r}")


class Bench:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings = settings
        self.args = args
        self.registry = load_registry()
        self.api = PodmanAPI(settings.sandbox.podman_url, settings.sandbox.api_timeout_s)
        self.runner = Runner(settings.sandbox, self.api)
        # The same without fork servers: every test a fresh interpreter (what the scaling section compares).
        self.fresh_runner = Runner(dataclasses.replace(settings.sandbox, fork_servers=False), self.api)
        self._local = threading.local()
        self.podman_prefix = podman_prefix(settings.worker_user)
        self.cli = cli_command()
        self.scratch = Path(tempfile.gettempdir())  # main() points it at a private temporary directory
        self.tables: list[tuple[str, list[str], list[list[str]]]] = []

    def show(self, title: str, header: list[str], rows: list[list[str]]) -> None:
        """Print a table now and keep it for the Markdown copy written at the end."""
        self.tables.append((title, header, rows))
        print(f"\n{title}\n" + table(rows, header), flush=True)

    # -- submissions

    def submission(self, language: Language, code: str, tests: list[dict[str, str]]) -> Submission:
        body = {"language": language.key, "code": code, "test_cases": tests}
        return build_submission(body, self.registry, self.settings.sandbox.policy, self.settings.sandbox.caps)

    def thread_runner(self) -> Runner:
        """One Runner per thread, as a worker thread would hold it."""
        runner: Runner | None = getattr(self._local, "runner", None)
        if runner is None:
            runner = self._local.runner = Runner(self.settings.sandbox)
        return runner

    def run_runner(self, submission: Submission, expected: Sequence[str], runner: Runner | None = None) -> None:
        result = (runner or self.runner).run(submission).as_dict()
        check_result(result, expected)

    def source_file(self, language: Language, code: str) -> Path:
        directory = self.scratch / language.key
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / language.source
        path.write_text(code)
        return path

    def run_cli(self, language: Language, path: Path) -> None:
        argv = [*self.cli, "run", str(path), "-l", language.key, "--json"]
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
        if done.returncode != 0:
            raise BenchError(f"`kodewar run` exited {done.returncode}: {done.stderr.strip()[-300:]}")
        check_result(json.loads(done.stdout), [HELLO])

    # -- the bare baseline

    def bare_argv(self, language: Language, code: str) -> list[str]:
        """`podman run --rm` with the sandbox's isolation flags (not its rlimits), running the job's own argv.

        The source arrives on stdin (`cat > SOURCE`), then the compile argv and the run argv the harness
        would exec, joined with `&&` in one `sh -c`: one container, the same work, no harness.
        """
        submission = self.submission(language, code, [{"input": "", "expected": HELLO}])
        job = build_job(submission, self.settings.sandbox, BARE_UID)
        steps = [f"cat > {shlex.quote(language.source)}"]
        if "compile" in job:
            steps.append(shlex.join(job["compile"]["argv"]))  # type: ignore[index]
        steps.append(shlex.join(job["run"]["argv"]))  # type: ignore[index]
        box = "type=tmpfs,destination=/box,tmpfs-size=256m,tmpfs-mode=1777"
        if not language.exec_box:
            box += ",noexec"
        env = [f"{k}={v}" for k, v in job["env"].items()]  # type: ignore[attr-defined]
        return [
            *self.podman_prefix, "run", "--rm", "-i", "--network", "none", "--read-only", "--read-only-tmpfs=false",
            "--mount", box, "--mount", "type=tmpfs,destination=/tmp,tmpfs-size=64m,tmpfs-mode=1777",
            "--cap-drop", "all", "--security-opt", "no-new-privileges", "--security-opt",
            f"seccomp={self.settings.sandbox.seccomp_profile_path}", "--log-driver", "none",
            "--user", f"{BARE_UID}:{BARE_UID}",
            "-w", "/box", *[x for e in env for x in ("-e", e)], "--cgroupns=private",
            "--runtime", self.settings.sandbox.oci_runtime, language.image(self.settings.sandbox.image_prefix),
            "sh", "-c", " && ".join(steps),
        ]

    def run_bare(self, argv: list[str], code: str) -> None:
        done = subprocess.run(argv, input=code, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S)
        if done.returncode != 0 or done.stdout.strip() != HELLO:
            raise BenchError(f"bare podman exited {done.returncode}: {(done.stdout + done.stderr).strip()[-300:]}")


def podman_prefix(worker_user: str) -> list[str]:
    """How to call podman as the worker user: directly when we are that user, through runuser as root."""
    entry = pwd.getpwnam(worker_user)
    if os.geteuid() == entry.pw_uid:
        return ["podman"]
    if os.geteuid() != 0:
        raise SystemExit(f"run the bench as root or as {worker_user}: the baseline runs podman as that user")
    return ["runuser", "-u", worker_user, "--", "env", f"XDG_RUNTIME_DIR=/run/user/{entry.pw_uid}",
            f"HOME={entry.pw_dir}", "podman"]


def cli_command() -> list[str]:
    """The installed console script when there is one, else the module (the same code path)."""
    script = Path(sys.executable).with_name("kodewar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kodewar.cli"]


# ---------------------------------------------------------------------------------------------- #
# sections


def bench_latency(bench: Bench, languages: list[Language]) -> dict[str, Any]:
    rows: list[list[str]] = []
    report: dict[str, Any] = {}
    for language in languages:
        code = HELLO_SOURCES[language.key]
        path = bench.source_file(language, code)
        submission = bench.submission(language, code, [{"input": "", "expected": HELLO}])
        bare = bench.bare_argv(language, code)
        variants: dict[str, Callable[[], None]] = {
            "cli": partial(bench.run_cli, language, path),
            "runner": partial(bench.run_runner, submission, [HELLO]),
            "bare": partial(bench.run_bare, bare, code),
        }
        try:
            started = time.perf_counter()
            for run in variants.values():  # one probe of each: sizes the run and proves every variant works
                run()
            probe_s = time.perf_counter() - started
            n = max(bench.args.min_iterations, min(bench.args.iterations, int(bench.args.language_budget_s / probe_s)))
            print(f"  {language.key}: {n} rounds (one round ~{probe_s:.1f} s)", flush=True)
            samples = interleaved(variants, n, warmup=0)
        except RUN_FAILURES as exc:
            report[language.key] = {"error": describe(exc)}
            print(f"  {language.key}: FAILED, left out: {describe(exc)}", flush=True)
            continue
        cli, runner, bare_s = samples["cli"], samples["runner"], samples["bare"]
        entry: dict[str, Any] = {name: s.as_dict() for name, s in samples.items()}
        entry["ratios_p50"] = {"runner_vs_bare": round(ratio(runner.p50, bare_s.p50), 3),
                               "cli_vs_bare": round(ratio(cli.p50, bare_s.p50), 3)}
        entry["bare_command"] = shlex.join(bare)
        report[language.key] = entry
        rows.append([language.key, str(n), ms(cli.p50), ms(cli.p95), ms(runner.p50), ms(runner.p95), ms(bare_s.p50),
                     ms(bare_s.p95), fmt_ratio(ratio(runner.p50, bare_s.p50)), fmt_ratio(ratio(cli.p50, bare_s.p50)),
                     fmt_ratio(ratio(runner.p95, bare_s.p95))])
    header = ["language", "n", "cli p50", "cli p95", "runner p50", "runner p95", "bare p50", "bare p95",
              "runner/bare", "cli/bare", "runner/bare p95"]
    bench.show("Hello-world latency (ms; ratios of p50 unless marked)", header, rows)
    return report


def bench_scaling(bench: Bench, languages: list[Language]) -> dict[str, Any]:
    rows: list[list[str]] = []
    report: dict[str, Any] = {}
    for language in languages:
        code = DOUBLE_SOURCES[language.key]
        one = bench.submission(language, code, [{"input": "21\n", "expected": "42"}])
        many_tests = [{"input": f"{i}\n", "expected": str(2 * i)} for i in range(1, SCALING_TESTS + 1)]
        many = bench.submission(language, code, many_tests)
        walls: list[float] = []
        fresh_walls: list[float] = []
        expected = [t["expected"] for t in many_tests]
        variants: dict[str, Callable[[], None]] = {
            "1 test": partial(bench.run_runner, one, ["42"]),
            f"{SCALING_TESTS} tests": partial(run_recording, bench, many, expected, walls),
        }
        if language.fork_server:  # the same 20 tests with a fresh interpreter each, for comparison
            variants["fresh"] = partial(run_recording, bench, many, expected, fresh_walls, bench.fresh_runner)
        try:
            samples = interleaved(variants, bench.args.scaling_iterations)
        except RUN_FAILURES as exc:
            report[language.key] = {"error": describe(exc)}
            print(f"  {language.key}: 1 vs {SCALING_TESTS} tests FAILED, left out: {describe(exc)}", flush=True)
            continue
        s1, sn = samples["1 test"], samples[f"{SCALING_TESTS} tests"]
        per_test = (sn.p50 - s1.p50) / (SCALING_TESTS - 1)
        program_wall = percentile(walls, 0.5)
        value = ratio(sn.p50, s1.p50)
        report[language.key] = {
            "one_test": s1.as_dict(),
            "many_tests": sn.as_dict(),
            "tests": SCALING_TESTS,
            "ratio_p50": round(value, 3),
            "added_per_test_s": round(per_test, 4),
            "program_wall_p50_s": round(program_wall, 4),
            "target": SCALING_TARGET_RATIO,
            "holds": value <= SCALING_TARGET_RATIO,
        }
        rows.append([language.key, str(len(s1.values)), ms(s1.p50), ms(s1.p95), ms(sn.p50), ms(sn.p95),
                     fmt_ratio(value), f"{per_test * 1000:.1f}", f"{program_wall * 1000:.1f}",
                     verdict(value, SCALING_TARGET_RATIO)])
        if "fresh" in samples:
            sf = samples["fresh"]
            fresh_ratio = ratio(sf.p50, s1.p50)
            report[language.key]["without_fork_server"] = {
                "many_tests": sf.as_dict(),
                "ratio_p50": round(fresh_ratio, 3),
                "program_wall_p50_s": round(percentile(fresh_walls, 0.5), 4),
            }
            rows.append([f"{language.key}, no fork server", str(len(sf.values)), ms(s1.p50), ms(s1.p95), ms(sf.p50),
                         ms(sf.p95), fmt_ratio(fresh_ratio), f"{(sf.p50 - s1.p50) / (SCALING_TESTS - 1) * 1000:.1f}",
                         f"{percentile(fresh_walls, 0.5) * 1000:.1f}", "(comparison)"])
    header = ["language", "n", "1 test p50", "1 test p95", f"{SCALING_TESTS} tests p50", f"{SCALING_TESTS} tests p95",
              "ratio", "ms added/test", "program wall/test", f"<= {SCALING_TARGET_RATIO}x"]
    bench.show(f"1 test vs {SCALING_TESTS} tests, Runner.run (ms)", header, rows)
    return report


def run_recording(
    bench: Bench, submission: Submission, expected: list[str], walls: list[float], runner: Runner | None = None
) -> None:
    """Runner.run, keeping each test's wall_time as the harness measured it (spawn to reap)."""
    result = (runner or bench.runner).run(submission).as_dict()
    check_result(result, expected)
    walls.extend(float(t["wall_time"]) for t in result["tests"])  # type: ignore[attr-defined]


def bench_throughput(bench: Bench, language: Language) -> dict[str, Any]:
    cores = os.cpu_count() or 1
    code = HELLO_SOURCES[language.key]
    submission = bench.submission(language, code, [{"input": "", "expected": HELLO}])
    bare = bench.bare_argv(language, code)
    per_round = max(1, bench.args.parallel_count // bench.args.parallel_rounds)
    variants: dict[str, tuple[int, Callable[[], None]]] = {
        f"runner x{cores}": (cores, lambda: bench.run_runner(submission, [HELLO], bench.thread_runner())),
        f"bare x{cores}": (cores, lambda: bench.run_bare(bare, code)),
        f"runner x{2 * cores}": (2 * cores, lambda: bench.run_runner(submission, [HELLO], bench.thread_runner())),
    }
    names = list(variants)
    elapsed = {name: 0.0 for name in names}
    done = {name: 0 for name in names}
    rounds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(bench.args.parallel_rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            workers, job = variants[name]
            with ThreadPoolExecutor(max_workers=workers) as pool:
                started = time.perf_counter()
                futures = [pool.submit(job) for _ in range(per_round)]
                for future in futures:
                    future.result()
                took = time.perf_counter() - started
            elapsed[name] += took
            done[name] += per_round
            rounds[name].append(round(per_round / took, 3))
    rate = {name: done[name] / elapsed[name] for name in names}
    base = names[1]
    rows = [[name, str(variants[name][0]), str(done[name]), f"{elapsed[name]:.2f}", f"{rate[name]:.2f}",
             " ".join(f"{x:.2f}" for x in rounds[name]), fmt_ratio(ratio(rate[name], rate[base]))]
            for name in names]
    header = ["variant", "threads", "runs", "seconds", "runs/s", "runs/s per round", f"vs {base}"]
    bench.show(f"Throughput, {language.key} hello world, {cores} cores", header, rows)
    return {
        "language": language.key,
        "cores": cores,
        "rounds": bench.args.parallel_rounds,
        "variants": {name: {"threads": variants[name][0], "runs": done[name], "seconds": round(elapsed[name], 3),
                            "runs_per_s": round(rate[name], 3), "runs_per_s_by_round": rounds[name],
                            "vs_bare": round(ratio(rate[name], rate[base]), 3)} for name in names},
    }


# Phases of one Runner.run, in order; "program" lies inside "harness" and is not added to the total.
SPLIT_PHASES = {
    "create": "create (container record, storage)",
    "attach": "attach (podman inits it: mount, conmon, runc create)",
    "start": "start (runc start)",
    "harness": "start -> first report (harness boot + program)",
    "program": "(inside the line above) the test's harness wall_time, spawn to reap",
    "exit": "last report -> stream EOF (container exit)",
    "remove": "remove (unmount, delete)",
    "total": "total",
}


def split_once(bench: Bench, submission: Submission) -> dict[str, float]:
    """Runner.run's sequence, call by call with a clock between (same spec, job and calls as sandbox/runner.py)."""
    config = bench.settings.sandbox
    job = build_job(submission, config, sandbox_uid(config))
    spec = container_spec(submission.language, submission.limits, config, f"kodewar-bench-{secrets.token_hex(6)}")
    api = bench.api
    t0 = time.perf_counter()
    container_id = api.create(spec)
    t_create = time.perf_counter()
    first = last = program = math.nan
    try:
        stream = api.attach(container_id)
        t_attach = time.perf_counter()
        try:
            api.start(container_id)
            t_start = time.perf_counter()
            stream.send(json.dumps(job, separators=(",", ":")).encode() + b"\n")
            buffer = b""
            for kind, payload in stream.frames(time.monotonic() + SPLIT_DEADLINE_S, SPLIT_READ_CAP_BYTES):
                if kind != 1:
                    continue
                now = time.perf_counter()
                first = now if math.isnan(first) else first
                buffer += payload
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    event = json.loads(line)
                    if event.get("event") == "test":
                        program = float(event["wall_time_s"])
                    if event.get("event") in ("done", "error"):
                        last = now
            t_eof = time.perf_counter()
        finally:
            stream.close()
    finally:
        t_remove = time.perf_counter()
        api.remove(container_id)
        t_end = time.perf_counter()
    return {
        "create": t_create - t0,
        "attach": t_attach - t_create,
        "start": t_start - t_attach,
        "harness": first - t_start,
        "program": program,
        "exit": t_eof - last,
        "remove": t_end - t_remove,
        "total": t_end - t0,
    }


def bench_split(bench: Bench, language: Language) -> dict[str, Any]:
    code = HELLO_SOURCES[language.key]
    submission = bench.submission(language, code, [{"input": "", "expected": HELLO}])
    split_once(bench, submission)  # warm-up
    runs = [split_once(bench, submission) for _ in range(bench.args.split_iterations)]
    medians = {phase: percentile([r[phase] for r in runs], 0.5) for phase in SPLIT_PHASES}

    # What the CLI adds before it reaches Runner.run (interpreter start, imports, settings), and
    # what `runuser` adds to the bare baseline when the bench runs as root.
    fixed: dict[str, Callable[[], None]] = {
        "python -c pass": partial(_quiet, [sys.executable, "-c", "pass"]),
        "python -c 'import kodewar.cli'": partial(_quiet, [sys.executable, "-c", "import kodewar.cli"]),
        "kodewar languages": partial(_quiet, [*bench.cli, "languages"]),
        "runuser ... true (bare prefix)": partial(_quiet, [*bench.podman_prefix[:-1], "true"]),
    }
    fixed_samples = interleaved(fixed, bench.args.split_iterations)
    total = medians["total"]
    rows = [[label, f"{medians[key] * 1000:.1f}",
             "" if key in ("total", "program") else f"{100 * medians[key] / total:.0f}%"]
            for key, label in SPLIT_PHASES.items()]
    rows += [[f"(process) {name}", f"{s.p50 * 1000:.1f}", ""] for name, s in fixed_samples.items()]
    title = f"Cost split of one {language.key} hello world (median of {len(runs)}, ms)"
    bench.show(title, ["phase", "ms", "share"], rows)
    return {
        "language": language.key,
        "n": len(runs),
        "phases": SPLIT_PHASES,
        "median_s": {k: round(v, 4) for k, v in medians.items()},
        "runs_s": [{k: round(v, 4) for k, v in r.items()} for r in runs],
        "process_p50_s": {name: round(s.p50, 4) for name, s in fixed_samples.items()},
    }


def markdown(summary: dict[str, Any], tables: list[tuple[str, list[str], list[list[str]]]]) -> str:
    """The run's tables as Markdown, ready to paste into docs/benchmarks.md."""
    lines = [f"Run {summary['started']}, {summary['duration_s']} s: `{summary['command']}`", ""]
    lines += [f"- {key}: {value}" for key, value in summary["machine"].items()]
    lines += [f"- load average (1/5/15 min) at start: {summary['load_average_start']}, at end: "
              f"{summary['load_average_end']}"]
    for title, header, rows in tables:
        lines += ["", f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.strip() or " " for cell in row) + " |" for row in rows]
    lines += ["", "**Targets**", ""]
    lines += [f"- {t['target']}: {t['value']:.2f}x, {'holds' if t['holds'] else 'MISSED'}" for t in summary["targets"]]
    return "\n".join(lines) + "\n"


def _quiet(argv: list[str]) -> None:
    done = subprocess.run(argv, cwd=REPO, capture_output=True, timeout=SUBPROCESS_TIMEOUT_S)
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.decode()[-300:]}")


# ---------------------------------------------------------------------------------------------- #
# machine, selection, main


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError as exc:
        return f"unknown ({exc.strerror})"
    return (done.stdout or done.stderr).strip().splitlines()[0] if (done.stdout or done.stderr).strip() else "unknown"


def machine(bench: Bench) -> dict[str, Any]:
    info: dict[str, Any] = {}
    with contextlib.suppress(SandboxUnavailable):
        info = bench.api.info()
    host, store = info.get("host", {}), info.get("store", {})
    cpu_model = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kib = int(handle.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
        "podman": _first_line([*bench.podman_prefix, "version", "--format", "{{.Client.Version}}"]),
        "runc": _first_line(["runc", "--version"]),
        "oci_runtime": host.get("ociRuntime", {}).get("name"),
        "cgroup": f"v{2 if Path('/sys/fs/cgroup/cgroup.controllers').exists() else 1}"
        f" ({host.get('cgroupManager', '?')}, rootless={host.get('security', {}).get('rootless')})",
        "storage_driver": store.get("graphDriverName"),
        "python": platform.python_version(),
        "seccomp_profile": bench.settings.sandbox.seccomp_profile_path,
        "cli": shlex.join(bench.cli),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: other work on the machine shows in absolute figures."""
    return [round(x, 2) for x in os.getloadavg()]


def select_languages(bench: Bench, wanted: list[str] | None) -> tuple[list[Language], list[str]]:
    """Languages both registered and built here; the rest with the reason they are left out."""
    names = wanted or list(bench.registry)
    chosen, skipped = [], []
    for name in names:
        language = bench.registry.get(name)
        if language is None:
            skipped.append(f"{name}: not in sandbox/languages.toml")
        elif name not in HELLO_SOURCES:
            skipped.append(f"{name}: no hello-world source in this bench")
        elif not bench.api.image_exists(language.image(bench.settings.sandbox.image_prefix)):
            skipped.append(f"{name}: image {language.image(bench.settings.sandbox.image_prefix)} not built")
        else:
            chosen.append(language)
    return chosen, skipped


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--languages", nargs="+",
                        help="languages to measure (default: every registered language whose image is built)")
    parser.add_argument("--iterations", type=int, default=20, help="latency rounds per language (default 20)")
    parser.add_argument("--min-iterations", type=int, default=8, help="rounds kept for slow languages (default 8)")
    parser.add_argument("--language-budget-s", type=float, default=45.0,
                        help="fewer rounds (not below --min-iterations) for a language whose rounds exceed this")
    parser.add_argument("--scaling-languages", nargs="+", default=["python", "c", "javascript"],
                        help="languages for 1 vs 20 tests (default: python c javascript)")
    parser.add_argument("--scaling-iterations", type=int, default=10, help="rounds of 1 vs 20 tests (default 10)")
    parser.add_argument("--parallel-count", type=int, default=40, help="runs per throughput variant (default 40)")
    parser.add_argument("--parallel-rounds", type=int, default=2, help="interleaved rounds they are split into")
    parser.add_argument("--split-iterations", type=int, default=10, help="runs behind the cost split (default 10)")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS),
                        help="run only these sections (default: all)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="directory for the JSON summary")
    return parser.parse_args(argv)


def targets(latency: dict[str, Any], scaling: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    python = latency.get("python")
    if python and "error" not in python:
        for key, label in (("runner_vs_bare", "Runner.run"), ("cli_vs_bare", "`kodewar run` process")):
            value = python["ratios_p50"][key]
            found.append({"target": f"python hello-world p50, {label} / bare podman <= {PYTHON_TARGET_RATIO}",
                          "value": value, "holds": value <= PYTHON_TARGET_RATIO})
    for key, entry in scaling.items():
        if "error" in entry:
            continue
        found.append({"target": f"{key}: {SCALING_TESTS} tests / 1 test p50 <= {SCALING_TARGET_RATIO}",
                      "value": entry["ratio_p50"], "holds": entry["holds"]})
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings()
    bench = Bench(settings, args)
    try:
        bench.api.ping()
    except SandboxUnavailable as exc:
        print(f"sandbox_bench: {exc} (is the worker's podman service up? scripts/podman-service.sh)", file=sys.stderr)
        return 2
    if not Path(settings.sandbox.seccomp_profile_path).exists():
        print(f"sandbox_bench: seccomp profile {settings.sandbox.seccomp_profile_path} is missing: run `make seccomp`"
              " (or set KODEWAR_SECCOMP_PROFILE)", file=sys.stderr)
        return 2
    languages, skipped = select_languages(bench, args.languages)
    if not languages:
        print("sandbox_bench: no language to measure: " + "; ".join(skipped), file=sys.stderr)
        return 2
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.perf_counter()
    summary: dict[str, Any] = {"started": started_at, "command": shlex.join([sys.executable, *sys.argv]),
                               "machine": machine(bench), "skipped": skipped,
                               "load_average_start": load_average()}
    print("Machine: " + ", ".join(f"{k}={v}" for k, v in summary["machine"].items()), flush=True)
    for line in skipped:
        print(f"skipped {line}")
    by_key = {lang.key: lang for lang in languages}
    if "latency" in args.sections:
        print("\nLatency rounds (cli, runner, bare interleaved):", flush=True)
        with tempfile.TemporaryDirectory(prefix="kodewar-bench-") as scratch:
            bench.scratch = Path(scratch)
            summary["latency"] = bench_latency(bench, languages)
    if "scaling" in args.sections:
        scaling_langs = [by_key[k] for k in args.scaling_languages if k in by_key and k in DOUBLE_SOURCES]
        summary["scaling"] = bench_scaling(bench, scaling_langs)
    python_sections = {"throughput": ("throughput", bench_throughput), "split": ("cost_split", bench_split)}
    for name, (key, section) in python_sections.items():
        if "python" not in by_key or name not in args.sections:
            continue
        try:
            summary[key] = section(bench, by_key["python"])
        except RUN_FAILURES as exc:
            summary[key] = {"error": describe(exc)}
            print(f"\n{key} FAILED: {describe(exc)}", flush=True)
    summary["targets"] = targets(summary.get("latency", {}), summary.get("scaling", {}))
    summary["duration_s"] = round(time.perf_counter() - started, 1)
    summary["load_average_end"] = load_average()
    if summary["targets"]:
        print("\nTargets")
    for item in summary["targets"]:
        print(f"  {item['target']}: {item['value']:.2f}x -> {'holds' if item['holds'] else 'MISSED'}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"sandbox_bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    path.with_suffix(".md").write_text(markdown(summary, bench.tables))
    load = ", ".join(" ".join(f"{x:.2f}" for x in summary[k]) for k in ("load_average_start", "load_average_end"))
    print(f"\nwhole run {summary['duration_s']} s (load average 1/5/15 min at start, end: {load})")
    print(f"summary written to {path} (tables as Markdown: {path.with_suffix('.md')})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
