"""KodeWar's in-container harness. Runs as the container's PID 1, uid 0 with only CAP_SETUID/SETGID.

It reads one job (a JSON line) from stdin, then for each stage (write files, compile, each test) forks a
child that drops to the job's unprivileged uid, sets rlimits and execs (or, for a language with a fork
server, has that server fork the test: see ForkServer). It measures every stage with wait4 and reports
one JSON line per stage on stdout, which is the runner's attach pipe: results never pass through files
the sandbox could write. After each stage every process of the uid is killed and reaped. The harness
itself never touches /box by path; only children that already dropped privileges do. Standard library
only, and few imports (each costs every sandbox its start-up): it runs in every language image.
"""

import binascii
import contextlib
import json
import math
import os
import resource
import selectors
import signal
import sys
import time

WORK_DIR = "/box"
READ_CHUNK_BYTES = 65536
DRAIN_AFTER_EXIT_S = 0.5  # bound on draining pipes after the process tree was killed
CPU_CHECK_MIN_S = 0.005  # closest spacing of CPU-time checks near the limit
CLEAR_TIMEOUT_S = 2.0  # for killed processes to be gone; past it the harness fails (Internal Error)
CLEAR_POLL_S = 0.0002
CPUS = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def emit(event):
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def drop_privileges(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


@contextlib.contextmanager
def as_uid(uid):
    """Hold the sandbox uid as real and effective uid, keeping 0 as saved uid to come back.

    Signals need no CAP_KILL then and no fork (a fork costs ~1 ms, several times per test). Meanwhile
    the sandbox's processes cannot touch the harness: it is the pid namespace's init, which receives
    only signals it handles (SIGINT, with a no-op, see main), and the uid change left it non-dumpable,
    so no ptrace either.
    """
    os.setresuid(uid, uid, 0)
    try:
        yield
    finally:
        os.setresuid(0, 0, 0)


def kill_all(uid):
    """SIGKILL every process of the sandbox uid, setsid daemons included: kill(-1) from that uid
    reaches exactly its processes in this pid namespace. Reaping is left to the caller: the stage's
    own child must be reaped by wait4 (or the fork server's)."""
    with as_uid(uid):
        for _ in range(2):  # the second catches anything forked while the first was delivered
            with contextlib.suppress(ProcessLookupError):  # none left
                os.kill(-1, signal.SIGKILL)


def processes_of(uid):
    """Pids in this pid namespace whose real uid is `uid`, zombies included. (kill(-1, 0) cannot tell:
    it succeeds while any other process exists, even one it may not signal.)"""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                uids = next(line for line in handle if line.startswith("Uid:"))
        except (OSError, StopIteration):  # gone meanwhile
            continue
        if int(uids.split()[1]) == uid:
            pids.append(int(entry))
    return pids


def clear_uid(uid):
    """Kill and reap until the uid has no process left, zombies included: a zombie would still count
    against the next test's RLIMIT_NPROC and show in its /proc. Orphans come to us (we are PID 1)."""
    deadline = time.monotonic() + CLEAR_TIMEOUT_S
    while processes_of(uid):
        kill_all(uid)
        reap()
        if time.monotonic() > deadline:
            raise RuntimeError("processes of the sandbox uid outlived SIGKILL")
        time.sleep(CLEAR_POLL_S)


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cpu_seconds(pid):
    """CPU time of a running process and its reaped children, from /proc (RLIMIT_CPU has 1 s steps)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / CLOCK_TICKS


def write_files(uid, files):
    """Write the sources into /box from a child that is already the sandbox uid (no symlink games).

    A name may hold directories ("lib/util.h"): each is made and entered by fd with O_NOFOLLOW, so
    nothing resolves outside /box whatever the names are (the host checked them before, too).
    """
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            drop_privileges(uid)
            box = os.open(WORK_DIR, os.O_RDONLY | os.O_DIRECTORY)
            for name, data in files.items():
                *parents, leaf = name.split("/")
                where = box
                for part in parents:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o755, dir_fd=where)
                    inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=where)
                    if where != box:
                        os.close(where)
                    where = inner
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                fd = os.open(leaf, flags, 0o644, dir_fd=where)
                if where != box:
                    os.close(where)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(binascii.a2b_base64(data))
        except BaseException:
            import traceback  # only on failure: ~2 ms of imports for every sandbox otherwise

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError("writing the sources into the work dir failed")


def cpu_kill_s(limits):
    """CPU seconds before the kill: the limit plus any extra time granted to measure an overrun."""
    return limits["cpu_time_s"] + limits.get("cpu_extra_time_s", 0.0)


def rlimit_settings(limits):
    """(resource, soft, hard) for every rlimit of a stage; the harness kills at the CPU limit itself,
    RLIMIT_CPU is the backstop."""
    cpu_s = math.ceil(cpu_kill_s(limits)) + 1
    data_bytes = (limits["memory_mb"] + limits.get("memory_overhead_mb", 0)) * 1024 * 1024
    fixed = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, limits["max_open_files"]),
        (resource.RLIMIT_NPROC, limits["max_processes"]),
        (resource.RLIMIT_FSIZE, limits["max_file_size_kib"] * 1024),
        (resource.RLIMIT_STACK, limits["stack_mb"] * 1024 * 1024),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
        (resource.RLIMIT_DATA, data_bytes),
    ]
    return [(resource.RLIMIT_CPU, cpu_s, cpu_s + 1)] + [(which, value, value) for which, value in fixed]


def fork_exec(argv, env, stdio, uid=None, rlimits=(), keep_fd=None):
    """fork, set the child up, exec argv (found on env's PATH); returns the pid. An exec that fails
    raises OSError here: the child sends its errno over a close-on-exec pipe, as subprocess does
    (which this replaces: its import costs every sandbox ~4 ms). With a uid the child gets its own
    session, drops to the uid and takes the rlimits."""
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for target, fd in enumerate(stdio):
                os.dup2(fd, target)
            if keep_fd is not None:
                os.set_inheritable(keep_fd, True)
            low = 3  # all our fds are close-on-exec already; this makes sure nothing else crosses exec
            for fd in sorted({err_w} if keep_fd is None else {err_w, keep_fd}):
                os.closerange(low, fd)
                low = fd + 1
            os.closerange(low, os.sysconf("SC_OPEN_MAX"))
            for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; programs get the default
                signal.signal(signum, signal.SIG_DFL)
            if uid is not None:
                os.setsid()
                drop_privileges(uid)
                for which, soft, hard in rlimits:
                    resource.setrlimit(which, (soft, hard))
            os.chdir(WORK_DIR)
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            os.write(err_w, str(exc.errno or 0).encode())
        except BaseException as exc:
            os.write(err_w, f"setup: {exc!r}".encode())
        finally:
            os._exit(127)
    os.close(err_w)
    with os.fdopen(err_r, "rb") as pipe:
        failure = pipe.read()
    if not failure:
        return pid
    os.waitpid(pid, 0)
    if failure.isdigit():
        raise OSError(int(failure), os.strerror(int(failure)))
    raise RuntimeError(failure.decode(errors="replace"))


class Launched:
    """A running stage: the harness's ends of its pipes, the fd that becomes readable when it exits,
    and `collect`, which blocks until it exited: (wait status, CPU seconds, peak RSS KiB)."""

    def __init__(self, pid, pipes, exit_fd, collect):
        self.pid, self.exit_fd, self.collect = pid, exit_fd, collect
        self.stdin_fd, self.out_fd, self.err_fd = pipes

    def close_stdin(self):
        os.close(self.stdin_fd)
        self.stdin_fd = None

    def close(self):
        for fd in (self.stdin_fd, self.out_fd, self.err_fd, self.exit_fd):
            if fd is not None:
                os.close(fd)


def stage_pipes(merge_stderr):
    """(the program's stdin, stdout, stderr), (the harness's ends of them); merged: one stream."""
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = (None, out_w) if merge_stderr else os.pipe()
    return (stdin_r, out_w, err_w), (stdin_w, out_r, err_r)


def spawn(uid, argv, env, limits, merge_stderr):
    """A fresh process: fork, drop to the uid, set the rlimits, exec."""
    theirs, ours = stage_pipes(merge_stderr)
    try:
        pid = fork_exec(argv, env, theirs, uid, rlimit_settings(limits))
    except BaseException:
        for fd in ours:
            if fd is not None:
                os.close(fd)
        raise
    finally:
        for fd in set(theirs):
            os.close(fd)

    def collect():
        _, status, usage = os.wait4(pid, 0)
        return status, usage.ru_utime + usage.ru_stime, usage.ru_maxrss

    return Launched(pid, ours, os.pidfd_open(pid), collect)


class ForkServer:
    """The harness's end of fork_server_python.py: one interpreter per run stage, forked per test."""

    def __init__(self, uid, spec, env, limits):
        import socket  # only here: most stages have no fork server

        self.socket = socket
        self.control, theirs = socket.socketpair()
        rlimits = ",".join(f"{which}:{soft}:{hard}" for which, soft, hard in rlimit_settings(limits))
        argv = [*spec["command"], str(theirs.fileno()), str(uid), rlimits, *spec["program"]]
        # Its stdin is a pipe at EOF, as the tests' stdin will be (the same buffering as theirs); its own
        # output goes to the harness's stderr, which the runner keeps for diagnostics. Root, not the
        # sandbox uid: the program's kill(-1) and ptrace cannot reach it.
        stdin_r, stdin_w = os.pipe()
        os.close(stdin_w)
        try:
            self.pid = fork_exec(argv, env, (stdin_r, 2, 2), keep_fd=theirs.fileno())
        finally:
            os.close(stdin_r)
            theirs.close()

    def _line(self):
        """One line from the server, and not a byte more: what stays in the socket keeps the exit fd
        (a dup of it) readable. Were "exit" read along with "pid", the stage would wait for the wall."""
        line = b""
        while not line.endswith(b"\n"):
            peeked = self.control.recv(4096, self.socket.MSG_PEEK)  # blocks until something is there
            if not peeked:
                raise RuntimeError("the fork server died")
            end = peeked.find(b"\n")
            line += self.control.recv(end + 1 if end >= 0 else len(peeked))
        return line.decode().split()

    def launch(self, merge_stderr):
        theirs, ours = stage_pipes(merge_stderr)
        try:
            self.socket.send_fds(self.control, [b"run"], list(theirs))
        finally:
            for fd in set(theirs):
                os.close(fd)
        kind, pid = self._line()
        if kind != "pid":
            raise RuntimeError(f"fork server said {kind!r}")

        def collect():
            kind, status, cpu, maxrss = self._line()
            if kind != "exit":
                raise RuntimeError(f"fork server said {kind!r}")
            return int(status), float(cpu), int(maxrss)

        return Launched(int(pid), ours, os.dup(self.control.fileno()), collect)

    def stop(self):
        self.control.close()
        with contextlib.suppress(ChildProcessError, ProcessLookupError):  # a dead server may be reaped already
            os.kill(self.pid, signal.SIGKILL)  # it holds nothing worth a clean exit
            os.waitpid(self.pid, 0)


def run_stage(uid, argv, env, limits, stdin_bytes, merge_stderr=False, server=None):
    """Run one program under the limits and measure it; returns the stage report (no verdict).

    With merge_stderr the program's stderr is its stdout pipe (one stream, in write order). With a
    fork server the program is a fork of it instead of a fresh exec of argv.
    """
    output_cap = limits["max_output_kib"] * 1024
    started = time.monotonic()
    report = {"exit_code": None, "signal": None, "killed": None, "exec_error": None, "merged": merge_stderr}
    try:
        proc = server.launch(merge_stderr) if server else spawn(uid, argv, env, limits, merge_stderr)
    except OSError as exc:
        report.update(
            exec_error=os.strerror(exc.errno or 0),
            errno=exc.errno,
            cpu_time_s=0.0,
            wall_time_s=0.0,
            memory_kib=0,
            stdout="",
            stderr="",
            stdout_truncated=False,
            stderr_truncated=False,
        )
        return report

    out_fd, err_fd, stdin_fd = proc.out_fd, proc.err_fd, proc.stdin_fd
    streams = {fd: bytearray() for fd in (out_fd, err_fd) if fd is not None}
    truncated = {fd: False for fd in streams}
    pending = memoryview(stdin_bytes)
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    if pending:
        os.set_blocking(stdin_fd, False)
        selector.register(stdin_fd, selectors.EVENT_WRITE)
    else:
        proc.close_stdin()
    selector.register(proc.exit_fd, selectors.EVENT_READ)

    deadline = started + limits["wall_time_s"]
    cpu_limit = cpu_kill_s(limits)
    cpu_check_at = started + cpu_limit / CPUS  # the earliest moment the CPU limit can be reached
    exited_at = None
    open_streams = set(streams)
    while open_streams or exited_at is None:  # a program may close its pipes and keep running
        now = time.monotonic()
        if exited_at is not None:
            if now >= exited_at + DRAIN_AFTER_EXIT_S:
                break
            timeout = exited_at + DRAIN_AFTER_EXIT_S - now
        elif now >= deadline:
            report["killed"] = "wall"
            kill_all(uid)
            exited_at = time.monotonic()
            continue
        elif now >= cpu_check_at:
            used = cpu_seconds(proc.pid)
            if used >= cpu_limit:
                report["killed"] = "cpu"
                kill_all(uid)
                exited_at = time.monotonic()
                continue
            cpu_check_at = now + max((cpu_limit - used) / CPUS, CPU_CHECK_MIN_S)
            continue
        else:
            timeout = min(deadline, cpu_check_at) - now
        for key, _ in selector.select(timeout):
            fd = key.fd
            if fd == proc.exit_fd:  # the program is done: whatever it left behind dies now
                selector.unregister(fd)
                kill_all(uid)
                exited_at = time.monotonic()
            elif fd == stdin_fd:
                try:
                    pending = pending[os.write(fd, pending[:READ_CHUNK_BYTES]) :]
                except BlockingIOError:
                    continue
                except BrokenPipeError:  # the program stopped reading; that is its business
                    pending = pending[:0]
                if not pending:
                    selector.unregister(fd)
                    proc.close_stdin()
            else:
                chunk = os.read(fd, READ_CHUNK_BYTES)
                if not chunk:
                    selector.unregister(fd)
                    open_streams.discard(fd)
                    continue
                buffer = streams[fd]
                room = output_cap - len(buffer)
                buffer += chunk[: max(room, 0)]
                if len(chunk) > room:
                    truncated[fd] = True
                    if report["killed"] is None:
                        report["killed"] = "output"
                    kill_all(uid)
    status, cpu, maxrss = proc.collect()
    wall = time.monotonic() - started
    clear_uid(uid)
    selector.close()
    proc.close()

    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit_code"] = os.WEXITSTATUS(status)
    report.update(
        cpu_time_s=round(cpu, 4),
        wall_time_s=round(wall, 4),
        memory_kib=maxrss,
        stdout=binascii.b2a_base64(streams[out_fd], newline=False).decode(),
        stderr=binascii.b2a_base64(streams.get(err_fd, b""), newline=False).decode(),
        stdout_truncated=truncated[out_fd],
        stderr_truncated=truncated.get(err_fd, False),
    )
    return report


def clean_exit(report):
    return report["exit_code"] == 0 and not report["killed"] and not report["exec_error"]


def main():
    if os.getpid() != 1:  # kill_all relies on the protection the kernel gives a pid namespace's init
        raise RuntimeError("the harness must be the container's PID 1")
    # Python's own SIGINT handler would raise KeyboardInterrupt here if the sandbox uid sent one while
    # kill_all holds that uid. A handler (unlike SIG_IGN) is reset by exec, so programs are unaffected.
    signal.signal(signal.SIGINT, lambda *_: None)
    job = json.loads(sys.stdin.buffer.readline())
    uid = int(job["uid"])
    if not 1000 <= uid < 65536:
        raise ValueError("sandbox uid out of range")
    env = job["env"]
    run = job["run"]
    server_spec = run.get("fork_server")
    # Started first, it boots while the files are written; it reads nothing before the first test.
    server = ForkServer(uid, server_spec, env, run["limits"]) if server_spec and job["tests"] else None
    try:
        stages(job, uid, env, server)
        emit({"event": "done"})
    finally:
        if server:
            server.stop()


def stages(job, uid, env, server):
    write_files(uid, job["files"])
    compile_step = job.get("compile")
    if compile_step:
        report = run_stage(uid, compile_step["argv"], env, compile_step["limits"], b"")
        emit({"event": "compile", **report})
        if report["exit_code"] != 0 or report["killed"]:
            return
    run = job["run"]
    runs = int(run.get("runs", 1))
    for index, test in enumerate(job["tests"]):
        stdin = binascii.a2b_base64(test["stdin"])
        for attempt in range(runs):  # number_of_runs: the first run that fails ends the repeats
            report = run_stage(uid, run["argv"], env, run["limits"], stdin, bool(run.get("merge_stderr")), server)
            emit({"event": "test", "index": index, "run": attempt, **report})
            if not clean_exit(report):
                break


if __name__ == "__main__":
    status = 0
    try:
        main()
    except BaseException:
        import traceback

        emit({"event": "error", "message": traceback.format_exc(limit=5)})
        status = 1
    # Every report is flushed (emit does it) and every child reaped: the container can end now, without
    # the interpreter's teardown, which the runner's removal would wait for.
    os._exit(status)
