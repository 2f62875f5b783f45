"""The attack catalog (ANCHORS.md) against real Podman: each attack is contained, gets the right
verdict, leaves nothing behind (the ``run`` fixture checks containers and sandbox-uid processes),
and a normal submission right after is still Accepted.

Seccomp checks (unshare, keyctl, AF_VSOCK, io_uring...) hold only under KodeWar's own profile; under
Podman's default profile some of them are expected to fail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import platform
import pwd
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kodewar.settings import Settings
from sandbox.languages import Language
from sandbox.result import Result
from sandbox.runner import Runner, TestCallback
from sandbox.statuses import Status
from sandbox.submission import Submission
from tests.conftest import RecordingAPI
from tests.integration.sandbox.programs import Run

LIMITS = {"cpu_time_s": 1, "wall_time_s": 2, "memory_mb": 64}
RUNTIME_ERRORS = {s for s in Status if s.is_runtime_error}
SLACK_S = 0.6  # how far past a limit the harness may notice it
HOST_DISK_SLACK_BYTES = 256 * 1024 * 1024  # others may use the disk meanwhile
WORKER_RSS_GROWTH_KIB = 64 * 1024
REFUSED = {"EPERM", "ENOSYS"}
SEED = "def solution(x): return x * 2"


class ForkedPythonRunner(Runner):
    """Runs Python tests as forks of the fork server even one at a time; other languages never fork."""

    def run(self, submission: Submission, on_test: TestCallback | None = None) -> Result:
        if submission.language.key != "python":
            pytest.skip("only Python has a fork server")
        return super().run(submission, on_test)


@pytest.fixture(params=["fresh", "fork-server"])
def runner(request: pytest.FixtureRequest, settings: Settings, podman_api: RecordingAPI) -> Runner:
    """Every attack runs with a fresh interpreter per test, and Python's again as forks of its fork server."""
    if request.param == "fresh":
        return Runner(dataclasses.replace(settings.sandbox, fork_servers=False), podman_api)
    return ForkedPythonRunner(dataclasses.replace(settings.sandbox, fork_server_min_runs=1), podman_api)


def assert_healthy(run: Run) -> None:
    """A normal submission right after an attack is still judged correctly."""
    result = run("python", SEED, tests=[{"input": "2", "expected": "4"}])
    assert result.status is Status.ACCEPTED, result.as_dict()


def stdout_json(result: Result, index: int = 0) -> Any:
    test = result.tests[index]
    assert test.status is Status.ACCEPTED, test
    return json.loads(test.stdout.text)


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def oom_kills() -> int:
    for line in Path("/proc/vmstat").read_text().splitlines():
        name, value = line.split()
        if name == "oom_kill":
            return int(value)
    return 0


@pytest.fixture
def host_disk(settings: Settings) -> Iterator[None]:
    """Free space on the worker's storage must not shrink: sandbox writes stay in size-capped tmpfs."""
    storage = Path(pwd.getpwnam(settings.worker_user).pw_dir)  # holds the rootless image store
    before = shutil.disk_usage(storage).free
    yield
    lost = before - shutil.disk_usage(storage).free
    assert lost < HOST_DISK_SLACK_BYTES, f"host disk lost {lost} bytes during the run"


# --- fork bombs, memory bombs -------------------------------------------------------------------

PY_FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
PY_THREAD_BOMB = """
import threading, time
while True:
    threading.Thread(target=time.sleep, args=(100,)).start()
"""
C_FORK_BOMB = "#define _GNU_SOURCE\n#include <unistd.h>\nint main(void) { for (;;) fork(); }\n"


@pytest.mark.parametrize(
    ("language", "code"),
    [("python", PY_FORK_BOMB), ("python", PY_THREAD_BOMB), ("c", C_FORK_BOMB)],
    ids=["python-fork", "python-threads", "c-fork"],
)
def test_fork_bomb(run: Run, language: str, code: str) -> None:
    started = time.monotonic()
    result = run(language, code, tests=[{"input": ""}], limits=LIMITS)
    assert result.status in RUNTIME_ERRORS | {Status.TIME_LIMIT_EXCEEDED}, result.as_dict()
    assert time.monotonic() - started < 15, "the fork bomb held the worker"
    assert_healthy(run)


PY_MEMORY_BOMB = "chunks = []\nwhile True:\n    chunks.append(b'x' * (10 << 20))\n"
CPP_MEMORY_BOMB = (
    "#include <cstdio>\nint main() { auto *c = new int[512][512][512]; c[7][1][2] = 1; "
    'std::printf("%d\\n", c[1][2][3]); }\n'
)
C_MMAP_BOMB = r"""
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
int main(void) {
    for (;;) {
        char *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        memset(p, 1, 1 << 20);
    }
}
"""


@pytest.mark.parametrize(
    ("language", "code"),
    [("python", PY_MEMORY_BOMB), ("cpp", CPP_MEMORY_BOMB), ("c", C_MMAP_BOMB)],
    ids=["python-chunks", "cpp-new-cube", "c-mmap"],
)
def test_memory_bomb(run: Run, language: str, code: str) -> None:
    kills = oom_kills()
    result = run(language, code, tests=[{"input": ""}], limits=LIMITS)
    assert result.status is Status.MEMORY_LIMIT_EXCEEDED, result.as_dict()
    assert result.tests[0].memory < 2 * LIMITS["memory_mb"] * 1024, "the limit did not hold"
    assert oom_kills() == kills, "the host OOM killer fired"
    assert_healthy(run)


C_UNCOUNTED_MEMORY = r"""#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#define CHUNK (64UL << 20)

static char *chunk(const char *how) {
    int fd = -1;
    if (!strcmp(how, "shared-anonymous"))
        return mmap(0, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!strcmp(how, "dev-zero")) fd = open("/dev/zero", O_RDWR);
    if (!strcmp(how, "memfd")) {
        fd = memfd_create("hog", 0);
        if (fd >= 0 && ftruncate(fd, CHUNK) != 0) return MAP_FAILED;
    }
    if (!strcmp(how, "sysv")) {
        int id = shmget(IPC_PRIVATE, CHUNK, IPC_CREAT | 0600);
        if (id < 0) return MAP_FAILED;
        void *p = shmat(id, 0, 0);
        shmctl(id, IPC_RMID, 0);
        return p == (void *)-1 ? MAP_FAILED : p;
    }
    if (fd < 0) return MAP_FAILED;
    return mmap(0, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

int main(void) {
    char how[32];
    if (scanf("%31s", how) != 1) return 2;
    size_t held = 0;
    for (int i = 0; i < 16; i++) {  /* 1 GB at most, so a broken sandbox cannot sink the host */
        char *p = chunk(how);
        if (p == MAP_FAILED) {
            perror(how);
            return 1;
        }
        memset(p, 1, CHUNK);
        held += CHUNK;
    }
    printf("held %zu MB\n", held >> 20);
    return 0;
}
"""
UNCOUNTED_MEMORY = ["shared-anonymous", "dev-zero", "memfd", "sysv"]


def test_memory_that_rlimit_data_does_not_count_is_refused(run: Run) -> None:
    """Shared mappings and SysV shm escape RLIMIT_DATA, the only memory cap on rootless cgroup v1."""
    kills = oom_kills()
    result = run("c", C_UNCOUNTED_MEMORY, tests=[{"input": how} for how in UNCOUNTED_MEMORY], limits=LIMITS)
    for how, test in zip(UNCOUNTED_MEMORY, result.tests, strict=True):
        assert test.status is not Status.ACCEPTED, (how, test)
        assert test.memory < 2 * LIMITS["memory_mb"] * 1024, f"{how}: held {test.memory} KiB"
    assert oom_kills() == kills, "the host OOM killer fired"
    assert_healthy(run)


# --- disk and file size -------------------------------------------------------------------------

PY_BIG_FILE = """
import sys
with open(sys.stdin.read().strip() + "/fill", "wb") as f:
    for _ in range(10 * 1024):  # 10 GB in 1 MB writes
        f.write(b"x" * (1 << 20))
"""
PY_SEEK_WRITE = """
import sys
with open(sys.stdin.read().strip() + "/sparse", "wb") as f:
    f.seek(2 << 30)
    f.write(b"x")
"""
C_SEEK_WRITE = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>
int main(void) {
    int fd = open("/tmp/sparse", O_WRONLY | O_CREAT, 0600);
    lseek(fd, 2L << 30, SEEK_SET);
    return write(fd, "x", 1) == 1 ? 0 : 1;
}
"""
PY_FILL_DIR = """
import errno, json, sys
root, written = sys.stdin.read().strip(), 0
try:
    for i in range(100000):
        with open(f"{root}/part{i}", "wb") as f:
            f.write(b"x" * (1000 << 10))  # under the file size limit: only the tmpfs size stops it
        written += 1000 << 10
except OSError as exc:
    print(json.dumps({"error": errno.errorcode[exc.errno], "written": written}))
"""
PY_MANY_FILES = """
import os, sys
root = sys.stdin.read().strip()
for i in range(1_000_000):
    os.close(os.open(f"{root}/f{i}", os.O_CREAT | os.O_WRONLY, 0o600))
    if i % 20000 == 0:
        print(i, flush=True)
print("done", flush=True)
"""


@pytest.mark.usefixtures("host_disk")
def test_disk_fill_single_file_hits_the_file_size_limit(run: Run) -> None:
    result = run("python", PY_BIG_FILE, tests=[{"input": "/tmp"}, {"input": "/box"}], limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.RUNTIME_ERROR_SIGXFSZ] * 2, result.as_dict()
    assert_healthy(run)


@pytest.mark.usefixtures("host_disk")
def test_seek_two_gigabytes_and_write(run: Run) -> None:
    result = run("python", PY_SEEK_WRITE, tests=[{"input": "/tmp"}, {"input": "/box"}], limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.RUNTIME_ERROR_SIGXFSZ] * 2, result.as_dict()
    result = run("c", C_SEEK_WRITE, tests=[{"input": ""}], limits=LIMITS)
    assert result.status is Status.RUNTIME_ERROR_SIGXFSZ, result.as_dict()
    assert result.tests[0].signal == signal.SIGXFSZ
    assert_healthy(run)


@pytest.mark.usefixtures("host_disk")
def test_filling_the_tmpfs_stops_at_its_size(run: Run, settings: Settings) -> None:
    limits = {**LIMITS, "wall_time_s": 5}
    sizes_mb = {
        "/tmp": settings.sandbox.tmp_dir_mb,
        "/box": settings.sandbox.work_dir_mb,
        "/dev/shm": settings.sandbox.shm_mb,
    }
    result = run("python", PY_FILL_DIR, tests=[{"input": root} for root in sizes_mb], limits=limits)
    for index, (root, size_mb) in enumerate(sizes_mb.items()):
        report = stdout_json(result, index)
        assert report["error"] == "ENOSPC", (root, report)
        assert report["written"] <= size_mb << 20, (root, report)
    assert_healthy(run)


PY_WRITE_ELSEWHERE = """
import errno, json, os
out = {}
for root in ("/", "/etc", "/var/tmp", "/var/lib", "/root", "/home", "/run", "/usr/local/bin", "/proc/1/root"):
    try:
        with open(os.path.join(root, "kodewar-probe"), "wb") as f:
            f.write(b"x")
        out[root] = "written"
    except OSError as exc:
        out[root] = errno.errorcode[exc.errno]
fstypes = {}
with open("/proc/self/mountinfo") as f:
    for line in f:
        left, right = line.split(" - ")
        fstypes[left.split()[4]] = right.split()[0]
out["fstypes"] = {root: fstypes.get(root) for root in ("/box", "/tmp", "/dev/shm")}
print(json.dumps(out))
"""


def test_only_the_tmpfs_mounts_are_writable(run: Run) -> None:
    out = stdout_json(run("python", PY_WRITE_ELSEWHERE, tests=[{"input": ""}], limits=LIMITS))
    assert out.pop("fstypes") == {"/box": "tmpfs", "/tmp": "tmpfs", "/dev/shm": "tmpfs"}
    assert "written" not in out.values(), out
    assert_healthy(run)


@pytest.mark.usefixtures("host_disk")
def test_a_million_files(run: Run) -> None:
    started = time.monotonic()
    result = run("python", PY_MANY_FILES, tests=[{"input": "/tmp"}], limits=LIMITS)
    test = result.tests[0]
    assert test.status in {Status.TIME_LIMIT_EXCEEDED, Status.ACCEPTED} | RUNTIME_ERRORS, result.as_dict()
    assert test.wall_time < LIMITS["wall_time_s"] + SLACK_S
    assert time.monotonic() - started < 20, "removing the container took too long"
    assert_healthy(run)


# --- output flood, CPU, sleeping, stopping ------------------------------------------------------

C_STDOUT_FLOOD = "#include <stdio.h>\nint main(void) { while (1) putchar('a'); }\n"
C_STDERR_FLOOD = "#include <stdio.h>\nint main(void) { while (1) fputc('a', stderr); }\n"


@pytest.mark.parametrize("code", [C_STDOUT_FLOOD, C_STDERR_FLOOD], ids=["stdout", "stderr"])
def test_output_flood(run: Run, settings: Settings, code: str) -> None:
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run("c", code, tests=[{"input": ""}] * 4, limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.OUTPUT_LIMIT_EXCEEDED] * 4, result.as_dict()
    display_cap = settings.sandbox.display_output_kib * 1024
    for test in result.tests:
        stream = test.stdout if code is C_STDOUT_FLOOD else test.stderr
        assert stream.truncated and 0 < len(stream.text) <= display_cap
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    assert grown < WORKER_RSS_GROWTH_KIB, f"the worker grew by {grown} KiB reading a flood"
    assert_healthy(run)


PY_STALLS = """
import os, signal, sys, time
cmd = sys.stdin.read().strip()
if cmd == "cpu":
    while True:
        pass
elif cmd == "sleep":
    time.sleep(100)
elif cmd == "pause":
    signal.pause()
elif cmd == "sigstop":
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_cpu_loop_sleep_pause_and_sigstop_end_at_the_limit(run: Run) -> None:
    cases = ["cpu", "sleep", "pause", "sigstop"]
    started = time.monotonic()
    result = run("python", PY_STALLS, tests=[{"input": c} for c in cases], limits=LIMITS)
    elapsed = time.monotonic() - started
    assert [t.status for t in result.tests] == [Status.TIME_LIMIT_EXCEEDED] * 4, result.as_dict()
    for case, test in zip(cases, result.tests, strict=True):
        assert test.wall_time < LIMITS["wall_time_s"] + SLACK_S, (case, test.wall_time)
    busy = result.tests[0]  # stopped by the CPU limit, or by the wall limit if the cores were shared
    cpu_limited = busy.signal == signal.SIGXCPU or busy.time >= 0.9 * LIMITS["cpu_time_s"]
    assert cpu_limited or busy.wall_time >= LIMITS["wall_time_s"], busy
    assert all(t.time < 0.5 for t in result.tests[1:]), [t.time for t in result.tests]
    assert elapsed < 4 * LIMITS["wall_time_s"] + 6, f"the slot was held {elapsed:.1f} s"
    assert_healthy(run)


# --- leaks through /proc and the environment -----------------------------------------------------

PY_SNOOP = """
import json, os, subprocess
info = {"env": dict(os.environ), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
for name in ("/proc/1/environ", "/proc/1/cmdline", "/proc/kcore", "/proc/keys", "/proc/timer_list"):
    try:
        with open(name, "rb") as f:
            info[name] = f.read(65536).decode("latin-1")
    except OSError as exc:
        info[name] = f"error {exc.errno}"
for name in ("/sys/firmware", "/proc/acpi"):
    try:
        info[name] = os.listdir(name)
    except OSError as exc:
        info[name] = f"error {exc.errno}"
for argv in (["printenv"], ["cat", "/proc/1/environ"]):
    done = subprocess.run(argv, capture_output=True)
    info[" ".join(argv)] = [done.returncode, done.stdout.decode("latin-1"), done.stderr.decode("latin-1")]
print(json.dumps(info))
"""
SECRET_NAMES = re.compile(r"KODEWAR|REDIS|JWT|SECRET|TOKEN|PASSW|API_KEY|AWS|XDG_|DBUS|SSH_|SUDO|KUBE", re.I)
SHARED_NAMES = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TERM", "HOSTNAME", "PWD", "SHLVL", "_"}


def _names(lines: list[str]) -> set[str]:
    return {line.split("=", 1)[0] for line in lines if "=" in line}


def test_proc_and_environment_leak_nothing(
    run: Run, registry: dict[str, Language], monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = f"kodewar-canary-{secrets.token_hex(8)}"
    monkeypatch.setenv("KODEWAR_JWT_SECRET", canary)
    monkeypatch.setenv("REDIS_PASSWORD", canary)
    result = run("python", PY_SNOOP, tests=[{"input": ""}], limits=LIMITS)
    info = stdout_json(result)
    assert canary not in result.tests[0].stdout.text
    printenv_rc, printenv_out, _ = info["printenv"]
    assert printenv_rc == 0
    cat_rc, cat_out, _ = info["cat /proc/1/environ"]
    environ1 = info["/proc/1/environ"]
    views = {"os.environ": set(info["env"]), "printenv": _names(printenv_out.splitlines())}
    if not environ1.startswith("error"):  # readable is acceptable only if it holds nothing secret
        views["/proc/1/environ"] = _names(environ1.split("\0"))
    if cat_rc == 0:
        views["cat /proc/1/environ"] = _names(cat_out.split("\0"))
    for view, names in views.items():
        assert not {n for n in names if SECRET_NAMES.search(n)}, (view, names)
        host_only = {n for n in names if n in os.environ and n not in SHARED_NAMES}
        assert not host_only, f"host variables reached the sandbox through {view}: {host_only}"
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", *registry["python"].env}
    assert views["os.environ"] <= allowed, views["os.environ"] - allowed
    # a pid namespace of its own: PID 1 is the harness, and only the sandbox's few processes show
    assert "python3" in info["/proc/1/cmdline"], info["/proc/1/cmdline"]
    assert len(info["pids"]) <= 4 and max(info["pids"]) < 1000, info["pids"]
    for masked in ("/proc/kcore", "/proc/keys", "/proc/timer_list"):
        assert info[masked] == "" or info[masked].startswith("error"), (masked, info[masked][:200])
    for masked in ("/sys/firmware", "/proc/acpi"):
        assert info[masked] == [] or str(info[masked]).startswith("error"), (masked, info[masked])
    assert_healthy(run)


# --- symlink plants ------------------------------------------------------------------------------

PY_PLANT = """
import os, sys
targets = sys.stdin.read().split()
names = ["main.py", "stdout", "stderr", "output", "result.json", "compile_output", "input", "runs"]
for root in ("/box", "/tmp"):
    for i, target in enumerate(targets):
        os.symlink(target, f"{root}/link{i}")
        try:
            with open(f"{root}/link{i}", "a") as f:
                f.write("kodewar was here\\n")
        except OSError:
            pass
    for name in names:
        path = f"{root}/{name}"
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(targets[0], path)
os.symlink("/", "/box/hostroot")
os.mkdir("/box/sub")
os.symlink("/etc", "/box/sub/etc")
print("planted")
"""
PY_LOOK = """
import json, os
print(json.dumps({root: sorted(os.listdir(root)) for root in ("/box", "/tmp")}))
"""


def test_symlink_plants_do_not_reach_the_host_or_the_next_run(run: Run, tmp_path: Path) -> None:
    host_file = tmp_path / "host-file"
    host_file.write_text("untouched\n")
    host_file.chmod(0o666)
    guarded = ["/etc/passwd", "/etc/shadow", str(host_file)]
    before = {path: (sha256(path), os.stat(path).st_mtime_ns) for path in guarded}
    listing = sorted(os.listdir(tmp_path))
    targets = [
        "/etc/passwd",
        "/etc/shadow",
        str(host_file),
        "/proc/1/root/etc/passwd",
        "/run/user/1001/podman/podman.sock",
        str(tmp_path),
    ]
    result = run("python", PY_PLANT, tests=[{"input": " ".join(targets)}] * 2, limits=LIMITS)
    assert result.tests[0].status is Status.ACCEPTED, result.as_dict()
    # the second test runs the planted main.py -> /etc/passwd: the user broke their own program only
    assert result.tests[1].status in RUNTIME_ERRORS | {Status.ACCEPTED}
    after = run("python", PY_LOOK, tests=[{"input": ""}], limits=LIMITS)
    assert stdout_json(after) == {"/box": ["main.py"], "/tmp": []}
    assert {path: (sha256(path), os.stat(path).st_mtime_ns) for path in guarded} == before
    assert sorted(os.listdir(tmp_path)) == listing
    assert_healthy(run)


# --- network -------------------------------------------------------------------------------------

PY_NETWORK = """
import errno, json, socket, sys
ports = json.loads(sys.stdin.read())
out = {}
def attempt(name, fn):
    try:
        fn()
        out[name] = "ok"
    except OSError as exc:
        out[name] = errno.errorcode.get(exc.errno, str(exc))
def tcp(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
        s.sendall(b"CLIENT SETNAME sandbox\\r\\nPING\\r\\n")
        if not s.recv(64):
            raise OSError(errno.ECONNRESET, "closed")
def dns():
    query = bytes.fromhex("abcd01000001000000000000076578616d706c6503636f6d0000010001")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1)
        s.sendto(query, ("127.0.0.1", ports["dns"]))
        s.recvfrom(512)
def vsock():
    socket.socket(40, socket.SOCK_STREAM).close()  # AF_VSOCK: creating it must already fail
attempt("redis", lambda: tcp(ports["redis"]))
attempt("redis_default_port", lambda: tcp(6379))
attempt("dns_udp", dns)
attempt("vsock_socket", vsock)
out["interfaces"] = sorted(name for _, name in socket.if_nameindex())
print(json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def redis_cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    """A private Redis on a random loopback port (a missing redis-server fails: `make` installs it)."""
    server = shutil.which("redis-server")
    if server is None or shutil.which("redis-cli") is None:
        pytest.fail("redis-server/redis-cli not installed; run `make install`")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(subprocess.CalledProcessError):
                if redis_cli(port, "PING").strip() == "PONG":
                    break
            time.sleep(0.05)
        else:
            pytest.fail("redis-server did not come up")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def connections_received(port: int) -> int:
    match = re.search(r"total_connections_received:(\d+)", redis_cli(port, "INFO", "stats"))
    assert match
    return int(match.group(1))


def test_network_is_unreachable(run: Run, redis_port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dns_server:
        dns_server.bind(("127.0.0.1", 0))
        dns_server.setblocking(False)
        received_before = connections_received(redis_port)
        ports = {"redis": redis_port, "dns": dns_server.getsockname()[1]}
        result = run("python", PY_NETWORK, tests=[{"input": json.dumps(ports)}], limits=LIMITS)
        out = stdout_json(result)
        with pytest.raises(BlockingIOError):
            dns_server.recvfrom(512)
    # the only new connection is this INFO call itself; CLIENT LIST shows only its own caller
    assert connections_received(redis_port) == received_before + 1
    clients = redis_cli(redis_port, "CLIENT", "LIST").strip().splitlines()
    assert len(clients) == 1 and "cmd=client" in clients[0] and "sandbox" not in clients[0], clients
    assert out["interfaces"] == ["lo"], out
    reached = [name for name in ("redis", "redis_default_port", "dns_udp") if out[name] == "ok"]
    assert not reached, f"reached the network: {out}"
    assert out["vsock_socket"] != "ok", f"AF_VSOCK socket created: {out}"
    assert_healthy(run)


# --- privileged syscalls -------------------------------------------------------------------------

PY_SYSCALLS = """
import ctypes, errno, json, os, subprocess, sys, time
NR = json.loads(sys.stdin.read())
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = {}
def call(name, *args):
    ctypes.set_errno(0)
    rc = libc.syscall(NR[name], *args)
    out[name] = "ok" if rc >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    return rc
class Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]
class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]
os.makedirs("/tmp/mnt", exist_ok=True)
call("mount", b"proc", b"/tmp/mnt", b"proc", 0, None)
call("add_key", b"user", b"kodewar", b"secret", 6, -2)
call("keyctl", 1, None)  # KEYCTL_JOIN_SESSION_KEYRING
now = time.time()  # if a clock call got through, it would set the clock to what it already is
call("settimeofday", ctypes.byref(Timeval(int(now), 0)), None)
call("clock_settime", 0, ctypes.byref(Timespec(int(now), 0)))
call("init_module", None, 0, b"")
call("finit_module", -1, b"", 0)
call("bpf", 0, ctypes.create_string_buffer(128), 128)
call("perf_event_open", ctypes.create_string_buffer(128), 0, -1, -1, 0)
call("userfaultfd", 0)
call("io_uring_setup", 1, ctypes.create_string_buffer(128))
call("ptrace", 16, 1, None, None)  # PTRACE_ATTACH to the harness
for argv in (["unshare", "-Urm", "true"], ["mount", "-t", "proc", "proc", "/tmp/mnt"]):
    out[" ".join(argv)] = subprocess.run(argv, capture_output=True).returncode
if call("unshare", 0x10000000 | 0x00020000) >= 0:  # CLONE_NEWUSER | CLONE_NEWNS, last: it changes us
    call("mount", b"tmpfs", b"/tmp/mnt", b"tmpfs", 0, None)
    out["mount_after_unshare"] = out.pop("mount")
print(json.dumps(out))
"""
SYSCALL_NUMBERS = {
    "x86_64": {
        "mount": 165,
        "add_key": 248,
        "keyctl": 250,
        "settimeofday": 164,
        "clock_settime": 227,
        "init_module": 175,
        "finit_module": 313,
        "bpf": 321,
        "perf_event_open": 298,
        "userfaultfd": 323,
        "io_uring_setup": 425,
        "ptrace": 101,
        "unshare": 272,
    },
    "aarch64": {
        "mount": 40,
        "add_key": 217,
        "keyctl": 219,
        "settimeofday": 170,
        "clock_settime": 112,
        "init_module": 105,
        "finit_module": 273,
        "bpf": 280,
        "perf_event_open": 241,
        "userfaultfd": 282,
        "io_uring_setup": 425,
        "ptrace": 117,
        "unshare": 97,
    },
}
MUST_BE_REFUSED = (
    "unshare",
    "mount",
    "add_key",
    "keyctl",
    "settimeofday",
    "clock_settime",
    "init_module",
    "finit_module",
)
MUST_FAIL = ("bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "ptrace")


def test_privileged_syscalls_are_refused(run: Run) -> None:
    numbers = SYSCALL_NUMBERS.get(platform.machine())
    assert numbers, f"no syscall table for {platform.machine()}"
    result = run("python", PY_SYSCALLS, tests=[{"input": json.dumps(numbers)}], limits=LIMITS)
    out = stdout_json(result)
    assert "mount_after_unshare" not in out, f"unshare(CLONE_NEWUSER|CLONE_NEWNS) succeeded: {out}"
    refused = {name: out[name] for name in MUST_BE_REFUSED}
    assert refused == {name: code for name, code in refused.items() if code in REFUSED}, out
    failed = {name: out[name] for name in MUST_FAIL}
    assert "ok" not in failed.values(), out
    assert out["unshare -Urm true"] != 0 and out["mount -t proc proc /tmp/mnt"] != 0, out
    assert_healthy(run)


# --- signals to the supervisor, daemons ---------------------------------------------------------

PY_SIGNALS = """
import errno, os, signal, sys, time
cmd = sys.stdin.read().strip()
targets = {"all": (-1, signal.SIGKILL), "parent": (os.getppid(), signal.SIGXCPU), "init": (1, signal.SIGKILL)}
if cmd == "all":  # kill(-1) spares the caller: give it a sibling to kill, then see it died
    child = os.fork()
    if child == 0:
        time.sleep(100)
        os._exit(0)
if cmd in targets:
    try:
        os.kill(*targets[cmd])
        print("delivered", end=" ")
    except OSError as exc:
        print(errno.errorcode[exc.errno], end=" ")
    if cmd == "all":
        _, status = os.waitpid(child, 0)
        print("sibling killed" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9 else "sibling lived", end="")
    print()
else:
    print("alive")
"""


def test_signals_to_the_supervisor(run: Run) -> None:
    tests = [
        {"input": "all", "expected": "delivered sibling killed"},
        {"input": "parent", "expected": "EPERM"},
        {"input": "init", "expected": "EPERM"},
        {"input": "ok", "expected": "alive"},
    ]
    result = run("python", PY_SIGNALS, tests=tests, limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.ACCEPTED] * 4, [t.stdout.text for t in result.tests]
    assert_healthy(run)


PY_SIGNAL_STORM = """
import os, signal, time
supervisors = {1, os.getppid()}  # the harness, and the fork server when there is one
if os.fork() == 0:  # a daemon that signals them until it is killed
    os.setsid()
    storm = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGSTOP, signal.SIGKILL,
             signal.SIGCONT, signal.SIGPIPE, signal.SIGALRM]
    while True:
        for pid in supervisors:
            for sig in storm:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
time.sleep(0.05)
print("ok")
"""


def test_a_signal_storm_while_the_supervisor_cleans_up(run: Run) -> None:
    """The harness holds the sandbox uid for the instant of each kill: a daemon signalling everything
    then must still not stop, kill or interrupt it."""
    result = run("python", PY_SIGNAL_STORM, tests=[{"input": "", "expected": "ok"}] * 6, limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.ACCEPTED] * 6, result.as_dict()
    assert_healthy(run)


PY_DAEMON = """
import os, sys, time
cmd = sys.stdin.read().strip()
if cmd == "look":
    me = os.getuid()
    others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()
              and os.stat(f"/proc/{p}").st_uid == me]
    print("others", len(others))
    sys.exit(0)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        if cmd == "detached":
            for fd in (0, 1, 2):
                os.close(fd)
        time.sleep(1000)
    os._exit(0)
print("parent done", flush=True)
"""


def test_setsid_daemon_is_killed_when_the_program_ends(run: Run) -> None:
    limits = {**LIMITS, "wall_time_s": 5}
    tests = [
        {"input": "detached", "expected": "parent done"},
        {"input": "look", "expected": "others 0"},
        {"input": "attached", "expected": "parent done"},
        {"input": "look", "expected": "others 0"},
    ]
    result = run("python", PY_DAEMON, tests=tests, limits=limits)
    assert [t.status for t in result.tests] == [Status.ACCEPTED] * 4, result.as_dict()
    for test in result.tests[::2]:
        assert test.wall_time < 1.5, f"waited {test.wall_time} s for a daemon"
    assert_healthy(run)


# --- runc / fd escapes ---------------------------------------------------------------------------

PY_EXE = """
import errno, json
out = {}
for path in ("/proc/self/exe", "/proc/1/exe", "/usr/bin/python3", "/proc/1/root/usr/bin/python3"):
    for mode in ("r+b", "ab"):
        try:
            with open(path, mode):
                out[f"{path} {mode}"] = "opened"
        except OSError as exc:
            out[f"{path} {mode}"] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(out))
"""


def test_proc_self_exe_cannot_be_overwritten(run: Run) -> None:
    runtimes = [p for p in (shutil.which("runc"), shutil.which("crun"), shutil.which("conmon")) if p]
    before = {p: sha256(p) for p in runtimes}
    out = stdout_json(run("python", PY_EXE, tests=[{"input": ""}], limits=LIMITS))
    assert "opened" not in out.values(), out
    assert {p: sha256(p) for p in runtimes} == before
    assert_healthy(run)


PY_FDS = """
import json, os
fds = {}
for fd in range(4096):
    try:
        os.fstat(fd)
    except OSError:
        continue
    fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
print(json.dumps({"fds": fds, "cwd": os.getcwd()}))
"""
C_FDS = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
int main(void) {
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) != -1) printf("%d ", fd);
    printf("\n");
    return 0;
}
"""


def test_only_standard_fds_are_open(run: Run) -> None:
    out = stdout_json(run("python", PY_FDS, tests=[{"input": ""}], limits=LIMITS))
    assert sorted(out["fds"]) == ["0", "1", "2"], out
    assert all(target.startswith("pipe:") for target in out["fds"].values()), out
    assert out["cwd"] == "/box"
    result = run("c", C_FDS, tests=[{"input": "", "expected": "0 1 2"}], limits=LIMITS)
    assert result.status is Status.ACCEPTED, result.as_dict()
    assert_healthy(run)


# --- compile-time attacks ------------------------------------------------------------------------

SHADOW_LINE = re.compile(r"^[a-z_][a-z0-9_-]*:[^:\s]*:\d*:\d*:\d*:", re.M)


@pytest.mark.parametrize(
    ("language", "code"),
    [
        ("c", "#include </dev/random>\nint main(void) { return 0; }\n"),
        ("c", '#include "/etc/shadow"\nint main(void) { return 0; }\n'),
        ("cpp", '#include "/etc/shadow"\nint main() { return 0; }\n'),
        ("c", "char big[1 << 30] = {1};\nint main(int argc, char **argv) { (void)argv; return big[argc << 20]; }\n"),
        ("cpp", "template <int N> struct F { static const int v = F<N + 1>::v; };\nint main() { return F<0>::v; }\n"),
        (
            "cpp",
            "#include <utility>\n"
            "template <class T> struct D { using t = typename D<std::pair<T, T>>::t; };\n"
            "int main() { D<int>::t x; return 0; }\n",
        ),
    ],
    ids=[
        "c-dev-random",
        "c-etc-shadow",
        "cpp-etc-shadow",
        "c-huge-object",
        "cpp-template-recursion",
        "cpp-template-bomb",
    ],
)
def test_compile_time_attacks(run: Run, settings: Settings, language: str, code: str) -> None:
    started = time.monotonic()
    result = run(language, code, tests=[{"input": ""}], limits=LIMITS)
    elapsed = time.monotonic() - started
    assert result.status is Status.COMPILATION_ERROR, result.as_dict()
    assert all(t.status is Status.SKIPPED for t in result.tests)
    assert not SHADOW_LINE.search(result.compile_output.text), result.compile_output.text[:1000]
    assert elapsed < settings.sandbox.policy.compile.wall_time_s + 10
    if "shadow" in code:
        assert re.search(r"Permission denied|No such file", result.compile_output.text), result.compile_output.text
    assert_healthy(run)


def test_closing_its_pipes_does_not_hide_a_running_program(run: Run) -> None:
    """A program that closes stdout and stderr and keeps running still meets the wall limit."""
    code = "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(30)\n"
    started = time.monotonic()
    result = run("python", code, tests=[{"input": ""}, {"input": ""}], limits=LIMITS)
    assert [t.status for t in result.tests] == [Status.TIME_LIMIT_EXCEEDED] * 2
    assert time.monotonic() - started < 2 * LIMITS["wall_time_s"] + 5
