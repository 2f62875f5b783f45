"""KodeWar's Python fork server: one interpreter started per submission, forked once per test.

A fresh `python3 main.py` costs ~10-40 ms of interpreter start-up per test; a fork of an interpreter
that already started costs ~1 ms. The harness starts this as root (never the sandbox uid, so the
program's kill(-1) and ptrace cannot reach it) with

    python3 [the run command's flags] -P -c SOURCE CONTROL_FD UID RLIMITS SCRIPT [ARGS...]

-P keeps /box off sys.path here: nothing the submission wrote is imported as root. For each test the
harness sends the test's stdin/stdout/stderr fds over CONTROL_FD; the server forks a child, which drops
to the sandbox uid, sets the rlimits and runs SCRIPT as `python3 [flags] SCRIPT ARGS` would. The server
answers "pid N", then "exit STATUS CPU_S MAXRSS_KIB" from wait4. It never sees test data.

What differs from a fresh interpreter, all invisible to ordinary programs: every test shares one hash
seed, sys.flags.safe_path is set, and exit runs threading's shutdown, atexit and the flush of stdio
(plus closing what __main__ holds) but not a full interpreter finalization (~5 ms per test).
Standard library only.
"""

import sys

FRESH_MODULES = frozenset(sys.modules)  # what a fresh interpreter has loaded before the script runs

import atexit  # noqa: E402
import contextlib  # noqa: E402
import ctypes  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402

PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
FD_COUNT = 3  # stdin, stdout, stderr of the test
LIBC = ctypes.CDLL(None, use_errno=True)


def become_test(uid, fds, rlimits):
    """In the forked child: the test's stdio, the sandbox uid and its rlimits, nothing else open."""
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(FD_COUNT, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    # A uid change without exec leaves the process non-dumpable, which would make /proc/self/fd
    # unreadable to the program; after exec (the fresh-interpreter path) it is dumpable again.
    LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    for which, soft, hard in rlimits:
        resource.setrlimit(which, (soft, hard))
    os.chdir("/box")


def warm_up():
    """Make the first use of the parser and of ctypes here, and freeze what exists: a child then
    copies ~100 pages on write instead of ~400 (measured: ~1.1 ms per test instead of ~2.6 ms)."""
    compile("x = 1", "<warm-up>", "exec", dont_inherit=True)
    LIBC.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    gc.freeze()


def serve(control_fd, uid, rlimits):
    """Fork a child per request; return only in a child, ready to run the program."""
    control = socket.socket(fileno=control_fd)
    warm_up()
    while True:
        message, fds, _, _ = socket.recv_fds(control, 16, FD_COUNT)
        if not message:
            os._exit(0)
        if len(fds) != FD_COUNT:
            raise RuntimeError(f"expected {FD_COUNT} fds, got {len(fds)}")
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                become_test(uid, fds, rlimits)
            except BaseException as exc:
                os.write(2, f"kodewar: setting up the test failed: {exc!r}\n".encode())
                os._exit(126)
            return
        for fd in fds:
            os.close(fd)
        control.sendall(b"pid %d\n" % pid)
        _, status, usage = os.wait4(pid, 0)
        cpu = usage.ru_utime + usage.ru_stime
        control.sendall(b"exit %d %.6f %d\n" % (status, cpu, usage.ru_maxrss))


def run_script(script, args):
    """Run SCRIPT as __main__ the way `python3 SCRIPT ARGS` does, then exit; never returns."""
    for name in SERVER_MODULES:  # the program imports its own copies, or shadows them with its files
        del sys.modules[name]
    path = os.path.join("/box", script)
    main = type(sys)("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__builtins__ = sys.modules["builtins"]
    main.__loader__ = sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(path))
    code = 0
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        exec(compile(source, path, "exec", dont_inherit=True), main.__dict__)
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException as exc:
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None  # not this frame
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        code = 1
    finish(code, main)


def exit_code(exc):
    """SystemExit's argument as the interpreter turns it into an exit status."""
    value = exc.code
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    with contextlib.suppress(Exception):
        print(value, file=sys.stderr)
    return 1


def finish(code, main):
    """The parts of interpreter shutdown a program can observe, then _exit (a full finalization
    would touch every page shared with the server)."""
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()  # joins non-daemon threads, as at a normal exit
        atexit._run_exitfuncs()
        main.__dict__.clear()  # closes and flushes files the program left open in its globals
    except SystemExit as exc:
        code = exit_code(exc)
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            code = 120  # what the interpreter returns when flushing stdout fails at exit
    os._exit(code)


# Held here so that dropping them from sys.modules in a child frees nothing (no copy-on-write).
SERVER_MODULES = {name: module for name, module in sys.modules.items() if name not in FRESH_MODULES}


def main():
    control_fd, uid = int(sys.argv[1]), int(sys.argv[2])
    rlimits = [tuple(int(x) for x in item.split(":")) for item in sys.argv[3].split(",")]
    script, *args = sys.argv[4:]
    serve(control_fd, uid, rlimits)
    run_script(script, args)


main()
