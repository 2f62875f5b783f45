"""`kodewar up` end to end: the README's seed example passes against it, and it stops without leftovers.

Each test runs `kodewar up` as a subprocess on free loopback ports with its state in a temp dir, so it
never meets a stack someone else runs on this machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kodewar.cli import EXIT_OK, EXIT_UNAVAILABLE
from kodewar.render import seed_python_example

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 180.0  # a worker runs the doctor's probe containers before it takes work
STOP_TIMEOUT_S = 90.0  # above LocalStack's stop timeout for an idle stack
README_PYTHON = re.compile(r"<!-- seed-python:[^\n]*-->\n```python\n(.*?)```", re.DOTALL)
README_CURL = re.compile(r"<!-- seed-curl:[^\n]*-->\n```sh\n(.*?)```", re.DOTALL)
BANNER_END = "Press Ctrl-C to stop."


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def kodewar_argv() -> list[str]:
    script = Path(sys.executable).with_name("kodewar")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kodewar.cli"]


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line or environment names the marker (the test's state dir)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        if int(proc.name) == os.getpid():
            continue
        try:
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except (OSError, IndexError):
            continue
        if marker.encode() in text:
            found.append(int(proc.name))
    return found


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@dataclass
class Up:
    """One `kodewar up` subprocess, its output in files (so a full pipe can never block it)."""

    popen: subprocess.Popen[bytes]
    out: Path
    err: Path
    state_dir: Path
    ports: list[int]

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait_banner(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if BANNER_END in self.stdout():
                return self.stdout()
            assert self.popen.poll() is None, f"kodewar up exited {self.popen.returncode}:\n{self.stderr()}"
            time.sleep(0.2)
        raise AssertionError(f"no banner after {START_TIMEOUT_S} s:\n{self.stderr()}")

    def stop(self, sig: int) -> int:
        self.popen.send_signal(sig)
        return self.popen.wait(timeout=STOP_TIMEOUT_S)


StartUp = Callable[..., Up]


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[StartUp]:
    started: list[Up] = []

    def _start(*extra: str, env: dict[str, str] | None = None) -> Up:
        state = tmp_path / f"state{len(started)}"
        api_port, redis_port, metrics_port = free_ports(3)
        child_env = {k: v for k, v in os.environ.items() if k not in ("KODEWAR_URL", "KODEWAR_TOKEN")}
        child_env.update({"KODEWAR_STATE_DIR": str(state), **(env or {})})
        out, err = tmp_path / f"up{len(started)}.out", tmp_path / f"up{len(started)}.err"
        argv = [
            *kodewar_argv(),
            "up",
            "--port",
            str(api_port),
            "--redis-port",
            str(redis_port),
            "--metrics-port",
            str(metrics_port),
            "--languages",
            "python",
            *extra,
        ]
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            popen = subprocess.Popen(argv, stdout=stdout, stderr=stderr, env=child_env, cwd=REPO)
        up = Up(popen, out, err, state, [api_port, redis_port, metrics_port])
        started.append(up)
        return up

    yield _start
    for up in started:  # a failed test must not leave a stack running
        if up.popen.poll() is None:
            up.popen.send_signal(signal.SIGTERM)
            try:
                up.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                up.popen.kill()
        for pid in processes_mentioning(str(up.state_dir)):
            os.kill(pid, signal.SIGKILL)


def banner_value(banner: str, label: str) -> str:
    match = re.search(rf"^{label}:\s+(\S+)$", banner, re.MULTILINE)
    assert match, f"no {label} line in:\n{banner}"
    return match.group(1)


def banner_block(banner: str, heading: str) -> str:
    """The text between the two rules that follow a heading line."""
    after = banner.split(heading, 1)[1]
    return after.split("-" * 72 + "\n")[1].rstrip("\n")


def readme_curl(url: str, token: str) -> str:
    block = README_CURL.search((REPO / "README.md").read_text())
    assert block, "README.md lost its seed-curl block"
    return block.group(1).replace("'paste the token here'", f"'{token}'").replace("http://127.0.0.1:8000", url)


def readme_example(url: str, token: str) -> str:
    block = README_PYTHON.search((REPO / "README.md").read_text())
    assert block, "README.md lost its seed-python block"
    code = block.group(1)
    assert 'URL = "http://127.0.0.1:8000"\n' in code and 'TOKEN = "paste the token here"\n' in code
    return code.replace('URL = "http://127.0.0.1:8000"', f'URL = "{url}"').replace(
        'TOKEN = "paste the token here"', f'TOKEN = "{token}"'
    )


def test_the_readme_seed_example_passes_and_sigint_stops_everything(start_up: StartUp, tmp_path: Path) -> None:
    up = start_up()
    banner = up.wait_banner()
    url, token = banner_value(banner, "URL"), banner_value(banner, "Token")
    assert url == f"http://127.0.0.1:{up.ports[0]}"

    # The README's block, with the printed URL and token, is what `kodewar up` prints; run it as a user would.
    code = readme_example(url, token)
    assert code.strip() == seed_python_example(url, token)
    assert banner_block(banner, "The same with Python requests:") == seed_python_example(url, token)
    script = tmp_path / "seed.py"
    script.write_text(code)
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "Accepted 1/1 tests passed"

    # The printed curl lines are the README's and work as pasted.
    assert readme_curl(url, token).strip() == banner_block(banner, "The seed example with curl")
    curl = subprocess.run(
        ["bash", "-c", banner_block(banner, "The seed example with curl")], capture_output=True, text=True, timeout=60
    )
    assert curl.returncode == 0, curl.stderr
    status = json.loads(curl.stdout)
    assert status["language"] == "python" and status["status"]["id"] in (1, 2, 3)

    # The client commands against the real API, configured the way the banner says.
    client_env = {**os.environ, "KODEWAR_URL": url, "KODEWAR_TOKEN": token}
    source, tests = tmp_path / "double.py", tmp_path / "tests.json"
    source.write_text("def solution(x): return x * 2\n")
    tests.write_text(json.dumps([{"input": "2", "expected": "4"}, {"input": "3", "expected": "7"}]))
    submitted = subprocess.run(
        [*kodewar_argv(), "submit", str(source), "-l", "python", "--tests", str(tests)],
        capture_output=True,
        text=True,
        timeout=120,
        env=client_env,
    )
    assert submitted.returncode == 0, submitted.stderr
    assert "Wrong Answer: 1/2 passed" in submitted.stdout and "In Queue" in submitted.stderr
    workers = subprocess.run([*kodewar_argv(), "workers"], capture_output=True, text=True, timeout=60, env=client_env)
    assert workers.returncode == 0 and "python" in workers.stdout and "1 worker(s)" in workers.stdout

    children = descendants(up.popen.pid)
    assert len(children) >= 3  # redis, gunicorn (and its workers), the worker
    assert up.stop(signal.SIGINT) == EXIT_OK, up.stderr()
    assert "kodewar up: stopped" in up.stderr()
    assert not [pid for pid in children if alive(pid)]
    assert processes_mentioning(str(up.state_dir)) == []
    assert (up.state_dir / "stack" / "redis" / "appendonlydir").is_dir()  # Redis ran with AOF in the stack dir


def test_sigterm_stops_it_too(start_up: StartUp) -> None:
    up = start_up()
    up.wait_banner()
    children = descendants(up.popen.pid)
    assert up.stop(signal.SIGTERM) == EXIT_OK, up.stderr()
    assert not [pid for pid in children if alive(pid)]
    assert processes_mentioning(str(up.state_dir)) == []


def test_a_part_that_fails_is_named_with_its_log_and_the_rest_is_stopped(start_up: StartUp) -> None:
    up = start_up(env={"KODEWAR_SECCOMP_PROFILE": "/nonexistent/seccomp.json"})  # the worker's doctor refuses
    assert up.popen.wait(timeout=START_TIMEOUT_S) == EXIT_UNAVAILABLE
    err = up.stderr()
    assert "worker 0 exited" in err and "/nonexistent/seccomp.json is missing" in err
    assert "stopped what had started" in err and BANNER_END not in up.stdout()
    assert processes_mentioning(str(up.state_dir)) == []


def test_a_part_that_dies_while_up_is_reported_and_the_rest_stopped(start_up: StartUp) -> None:
    up = start_up()
    up.wait_banner()
    children = descendants(up.popen.pid)
    (worker,) = [pid for pid in children if b"worker" in (Path("/proc") / str(pid) / "cmdline").read_bytes()]
    os.kill(worker, signal.SIGKILL)
    assert up.popen.wait(timeout=STOP_TIMEOUT_S) == EXIT_UNAVAILABLE
    assert "worker-0 exited (status -9)" in up.stderr() and "stopping the rest" in up.stderr()
    assert not [pid for pid in children if alive(pid)]
    assert processes_mentioning(str(up.state_dir)) == []


def test_a_busy_port_is_refused_before_anything_starts(start_up: StartUp) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        up = start_up("--port", str(port))  # the last --port wins
        assert up.popen.wait(timeout=60) == EXIT_UNAVAILABLE
    assert f"the API (--port): 127.0.0.1:{port}" in up.stderr()
    assert not (up.state_dir / "stack").exists()
