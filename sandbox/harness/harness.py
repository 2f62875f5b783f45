"""KodeWar's in-container harness. Runs as the container's PID 1, uid 0 with only CAP_SETUID/SETGID.

It reads one job (a JSON line) from stdin, then for each stage (write files, compile, each test) forks a
child that drops to the job's unprivileged uid, sets rlimits and execs. It measures every stage with
wait4 and reports one JSON line per stage on stdout, which is the runner's attach pipe: results never
pass through files the sandbox could write. The harness itself never touches /box by path; only
children that already dropped privileges do. Standard library only: it runs in every language image.
"""

import base64
import contextlib
import json
import math
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
import traceback

WORK_DIR = "/box"
READ_CHUNK_BYTES = 65536
DRAIN_AFTER_EXIT_S = 0.5  # bound on draining pipes after the process tree was killed
CPU_CHECK_MIN_S = 0.005  # closest spacing of CPU-time checks near the limit
CPUS = os.cpu_count() or 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def emit(event):
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def drop_privileges(uid):
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def kill_all(uid):
    """SIGKILL every process of the sandbox uid, setsid daemons included.

    kill(-1) from a process of that uid reaches exactly its processes in this pid namespace, and
    needs no CAP_KILL. Reaping is left to the caller: the stage's own child must be reaped by wait4.
    """
    pid = os.fork()
    if pid == 0:
        try:
            drop_privileges(uid)
            os.kill(-1, signal.SIGKILL)
            os.kill(-1, signal.SIGKILL)  # anything forked while the first signal was delivered
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


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
                    handle.write(base64.b64decode(data))
        except BaseException:
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


def limiter(limits):
    """preexec_fn: runs in the child after it became the sandbox uid, just before exec."""
    cpu_s = math.ceil(cpu_kill_s(limits)) + 1  # backstop: the harness kills at the limit itself
    data_bytes = (limits["memory_mb"] + limits.get("memory_overhead_mb", 0)) * 1024 * 1024
    settings = [
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, cpu_s, cpu_s + 1),
        (resource.RLIMIT_NOFILE, limits["max_open_files"]),
        (resource.RLIMIT_NPROC, limits["max_processes"]),
        (resource.RLIMIT_FSIZE, limits["max_file_size_kib"] * 1024),
        (resource.RLIMIT_STACK, limits["stack_mb"] * 1024 * 1024),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
        (resource.RLIMIT_DATA, data_bytes),
    ]

    def apply():
        for item in settings:
            soft = item[1]
            hard = item[2] if len(item) == 3 else soft
            resource.setrlimit(item[0], (soft, hard))

    return apply


def run_stage(uid, argv, env, limits, stdin_bytes, merge_stderr=False):
    """Run one program under the limits and measure it; returns the stage report (no verdict).

    With merge_stderr the program's stderr is its stdout pipe (one stream, in write order).
    """
    output_cap = limits["max_output_kib"] * 1024
    started = time.monotonic()
    report = {"exit_code": None, "signal": None, "killed": None, "exec_error": None, "merged": merge_stderr}
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            cwd=WORK_DIR,
            env=env,
            user=uid,
            group=uid,
            extra_groups=[],
            start_new_session=True,
            close_fds=True,
            preexec_fn=limiter(limits),
        )
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

    pidfd = os.pidfd_open(proc.pid)
    out_fd = proc.stdout.fileno()
    err_fd = proc.stderr.fileno() if proc.stderr else None
    streams = {fd: bytearray() for fd in (out_fd, err_fd) if fd is not None}
    truncated = {fd: False for fd in streams}
    pending = memoryview(stdin_bytes)
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    stdin_fd = proc.stdin.fileno()
    if pending:
        os.set_blocking(stdin_fd, False)
        selector.register(stdin_fd, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    selector.register(pidfd, selectors.EVENT_READ)

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
            if fd == pidfd:  # the program is done: whatever it left behind dies now
                selector.unregister(pidfd)
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
                    proc.stdin.close()
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
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status
    wall = time.monotonic() - started
    kill_all(uid)
    reap()  # orphans reparented to us (we are PID 1)
    selector.close()
    os.close(pidfd)
    for handle in (proc.stdin, proc.stdout, proc.stderr):
        if handle and not handle.closed:
            handle.close()

    if os.WIFSIGNALED(status):
        report["signal"] = os.WTERMSIG(status)
    else:
        report["exit_code"] = os.WEXITSTATUS(status)
    report.update(
        cpu_time_s=round(usage.ru_utime + usage.ru_stime, 4),
        wall_time_s=round(wall, 4),
        memory_kib=usage.ru_maxrss,
        stdout=base64.b64encode(bytes(streams[out_fd])).decode(),
        stderr=base64.b64encode(bytes(streams.get(err_fd, b""))).decode(),
        stdout_truncated=truncated[out_fd],
        stderr_truncated=truncated.get(err_fd, False),
    )
    return report


def clean_exit(report):
    return report["exit_code"] == 0 and not report["killed"] and not report["exec_error"]


def main():
    job = json.loads(sys.stdin.buffer.readline())
    uid = int(job["uid"])
    if not 1000 <= uid < 65536:
        raise ValueError("sandbox uid out of range")
    env = job["env"]
    write_files(uid, job["files"])
    compile_step = job.get("compile")
    if compile_step:
        report = run_stage(uid, compile_step["argv"], env, compile_step["limits"], b"")
        emit({"event": "compile", **report})
        if report["exit_code"] != 0 or report["killed"]:
            emit({"event": "done"})
            return
    run = job["run"]
    runs = int(run.get("runs", 1))
    for index, test in enumerate(job["tests"]):
        stdin = base64.b64decode(test["stdin"])
        for attempt in range(runs):  # number_of_runs: the first run that fails ends the repeats
            report = run_stage(uid, run["argv"], env, run["limits"], stdin, bool(run.get("merge_stderr")))
            emit({"event": "test", "index": index, "run": attempt, **report})
            if not clean_exit(report):
                break
    emit({"event": "done"})


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        emit({"event": "error", "message": traceback.format_exc(limit=5)})
        sys.exit(1)
