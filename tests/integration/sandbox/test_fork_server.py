"""Python's fork server against real Podman: a program cannot tell a fork of it from a fresh
interpreter, and cannot reach the server (root) from its test.

Each program runs twice as one submission with several tests: once with a fresh interpreter per
test, once as forks of the server; every test's outcome must be the same.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from kodewar.settings import Settings
from sandbox.result import Result
from sandbox.runner import Runner
from sandbox.statuses import Status
from tests.conftest import RecordingAPI
from tests.integration.sandbox.programs import Run

LIMITS = {"cpu_time_s": 2, "wall_time_s": 4, "memory_mb": 128}

STARTUP_STATE = """
import builtins, json, os, resource, signal, sys
state = {
    "argv": sys.argv, "name": __name__, "file": __file__, "path0": sys.path[0], "doc": __doc__,
    "spec": repr(__spec__), "package": __package__, "loader": type(__loader__).__name__,
    "builtins": __builtins__ is builtins, "cwd": os.getcwd(), "env": dict(os.environ),
    "modules": sorted(m for m in sys.modules if m != "__main__"),
    "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
    "sigpipe": str(signal.getsignal(signal.SIGPIPE)), "ids": [os.getuid() == os.geteuid() == os.getresuid()[2],
    os.getgroups()], "session_leader": os.getsid(0) == os.getpid() == os.getpgrp(),
    "rlimits": {n: resource.getrlimit(getattr(resource, n)) for n in dir(resource) if n.startswith("RLIMIT_")},
    "fds": sorted(os.listdir("/proc/self/fd")), "stdio": [(f.name, f.encoding, f.line_buffering, f.seekable())
    for f in (sys.stdin, sys.stdout, sys.stderr)],
    "status": [line for line in open("/proc/self/status") if line.startswith(("Cap", "NoNewPrivs", "Seccomp"))],
    "recursion": sys.getrecursionlimit(), "flags": [sys.flags.ignore_environment, sys.flags.no_user_site],
}
print(json.dumps(state, sort_keys=True))
"""

EXITS = """
import sys
how = input()
if how == "raise":
    def inner():
        raise ValueError("boom")
    inner()
if how == "code":
    sys.exit(3)
if how == "message":
    sys.exit("bye")
if how == "big":
    sys.exit(257)
if how == "none":
    sys.exit()
print("fell off the end")
"""

SHUTDOWN = """
import atexit, os, sys, threading, time
stage = input()
if stage == "write":
    left_open = open("/tmp/left-open.txt", "w")
    left_open.write("flushed at exit")
    raw_stdout = open(1, "w", closefd=False)
    raw_stdout.write("buffered on fd 1\\n")
    atexit.register(lambda: print("atexit ran", flush=True))
    def late():
        time.sleep(0.05)
        print("thread joined", flush=True)
    threading.Thread(target=late).start()
    print("main done", flush=True)
else:
    print(open("/tmp/left-open.txt").read())
"""

IMPORTS = """
import os, sys
os.makedirs("/box/pkg", exist_ok=True)
with open("/box/helper.py", "w") as f:
    f.write("VALUE = 'sibling module'\\n")
with open("/box/socket.py", "w") as f:
    f.write("SHADOWED = True\\n")
import helper, socket
print(helper.VALUE, getattr(socket, "SHADOWED", False))
"""

RECURSION = """
import sys
sys.setrecursionlimit(200000)
def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)
print(depth(int(input())))
"""

STDIN = "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n"

SYNTAX_ERROR = "print('never'\n"

PROGRAMS: dict[str, tuple[str, list[str]]] = {
    "startup-state": (STARTUP_STATE, ["", ""]),
    "exits": (EXITS, ["raise", "code", "message", "big", "none", "end"]),
    "shutdown": (SHUTDOWN, ["write", "read"]),
    "imports": (IMPORTS, ["", ""]),
    "recursion": (RECURSION, ["1000", "20000"]),
    "stdin": (STDIN, ["1 2 3", "4\n5\n6\n" * 1000]),
    "syntax-error": (SYNTAX_ERROR, ["", ""]),
}


@pytest.fixture(scope="module")
def runners(settings: Settings, podman_api: RecordingAPI) -> dict[str, Runner]:
    return {
        "fresh": Runner(dataclasses.replace(settings.sandbox, fork_servers=False), podman_api),
        "forked": Runner(dataclasses.replace(settings.sandbox, fork_servers=True, fork_server_min_runs=1), podman_api),
    }


def outcome(result: Result) -> list[dict[str, Any]]:
    return [
        {
            "status": test.status.name,
            "exit_code": test.exit_code,
            "signal": test.signal,
            "stdout": test.stdout.text,
            "stderr": test.stderr.text,
        }
        for test in result.tests
    ]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_a_forked_test_behaves_as_a_fresh_interpreter(run: Run, runners: dict[str, Runner], name: str) -> None:
    code, inputs = PROGRAMS[name]
    tests = [{"input": text} for text in inputs]
    fresh = run("python", code, tests=tests, limits=LIMITS, mode="stdio", using=runners["fresh"])
    forked = run("python", code, tests=tests, limits=LIMITS, mode="stdio", using=runners["forked"])
    assert outcome(forked) == outcome(fresh)
    assert fresh.tests[0].status is not Status.INTERNAL_ERROR, fresh.as_dict()


def test_programs_see_what_they_expect(run: Run, runners: dict[str, Runner]) -> None:
    """The equivalence above is not two identical failures: spot-check what both paths print."""
    result = run("python", EXITS, tests=[{"input": i} for i in ("raise", "big", "end")], using=runners["forked"])
    raised, big, end = result.tests
    assert raised.exit_code == 1 and raised.stderr.text.startswith("Traceback (most recent call last):\n")
    assert 'File "/box/main.py", line 6, in inner' in raised.stderr.text, raised.stderr.text
    assert "fork_server" not in raised.stderr.text and "<string>" not in raised.stderr.text
    assert (big.exit_code, end.stdout.text) == (1, "fell off the end\n")
    state = json.loads(
        run("python", STARTUP_STATE, tests=[{"input": ""}], using=runners["forked"]).tests[0].stdout.text
    )
    assert (state["argv"], state["file"], state["path0"], state["fds"][:3]) == (
        ["main.py"],
        "/box/main.py",
        "/box",
        ["0", "1", "2"],
    )
    assert "socket" not in state["modules"] and "ctypes" not in state["modules"]
    shutdown = run("python", SHUTDOWN, tests=[{"input": "write"}, {"input": "read"}], using=runners["forked"])
    assert shutdown.tests[0].stdout.text == "main done\nthread joined\natexit ran\nbuffered on fd 1\n"
    assert shutdown.tests[1].stdout.text == "flushed at exit\n"


REACH_THE_SERVER = """
import ctypes, errno, json, os, signal, builtins
server = os.getppid()
out = {"mark": getattr(builtins, "KODEWAR_MARK", None)}
builtins.KODEWAR_MARK = "set by an earlier test"
for name, path in [("environ", f"/proc/{server}/environ"), ("mem", f"/proc/{server}/mem"),
                   ("fds", f"/proc/{server}/fd")]:
    try:
        os.listdir(path) if name == "fds" else open(path, "rb").read(1)
        out[name] = "read"
    except OSError as exc:
        out[name] = errno.errorcode[exc.errno]
libc = ctypes.CDLL(None, use_errno=True)
out["ptrace"] = libc.ptrace(16, server, 0, 0)  # PTRACE_ATTACH
out["ptrace_errno"] = errno.errorcode.get(ctypes.get_errno())
for sig in (signal.SIGKILL, signal.SIGSTOP):
    try:
        os.kill(server, sig)
        out[sig.name] = "delivered"
    except OSError as exc:
        out[sig.name] = errno.errorcode[exc.errno]
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
print(json.dumps(out, sort_keys=True))
"""


def test_a_test_cannot_reach_the_server_or_the_next_test(run: Run, runners: dict[str, Runner]) -> None:
    result = run("python", REACH_THE_SERVER, tests=[{"input": ""}] * 3, limits=LIMITS, using=runners["forked"])
    assert [t.status for t in result.tests] == [Status.ACCEPTED] * 3, result.as_dict()
    for test in result.tests:
        out = json.loads(test.stdout.text)
        assert out["mark"] is None, "a test saw state left by an earlier one"
        assert {out["environ"], out["mem"], out["fds"]} <= {"EACCES", "EPERM"}, out
        assert (out["ptrace"], out["ptrace_errno"]) == (-1, "EPERM"), out
        assert out["SIGKILL"] == out["SIGSTOP"] == "EPERM", out
