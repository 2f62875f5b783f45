"""KodeWar's seccomp profile, declared here as commented syscall groups and rendered to ``seccomp.json``.

The profile is an allowlist in the spirit of Docker's default for an unprivileged container, plus the
blocks ioi/isolate adds for judging: keyrings, nested namespaces and mounts, io_uring, userfaultfd, bpf,
perf, ptrace-like inspection, exotic socket families, and the ways around our memory limit. On hosts
without a memory cgroup (rootless cgroup v1) RLIMIT_DATA is the only memory cap, and it does not count
shared mappings or kernel memory, so the profile closes the shared-memory paths that no runtime needs.

    .venv/bin/python -m sandbox.seccomp_profile          # write sandbox/seccomp.json
    .venv/bin/python -m sandbox.seccomp_profile --check  # exit 1 if the committed file is stale

The file is in podman's format (read by path through ``--security-opt seccomp=PATH``). Every syscall
that no rule allows gets ``EPERM``; clone3 gets ``ENOSYS`` so glibc falls back to clone, whose flags we
can inspect. No syscall is both allowed and refused (checked when generating). Filters on int
arguments (socket's family, personality) match the whole register exactly, so high bits the kernel
would drop make a call fail rather than pass.

Architectures: x86_64 (with x86 and x32) and aarch64 (with arm). clone's flags are argument 0 on all
of them; on s390 they are argument 1, which this profile does not support. 32-bit programs run, but
without sockets, and x32 ones cannot mmap (see ``on_64bit_abis``): x86 hides some arguments in memory.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROFILE_PATH = Path(__file__).with_name("seccomp.json")

EPERM = 1
ENOSYS = 38

ALLOW = "SCMP_ACT_ALLOW"
ERRNO = "SCMP_ACT_ERRNO"

ARCH_MAP: list[dict[str, object]] = [
    {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
]

# Values from the Linux UAPI headers (<linux/sched.h>, <linux/socket.h>, <linux/netlink.h>,
# <linux/personality.h>, <asm-generic/mman-common.h>); identical on every architecture above.
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEW_ANY = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)
"""Every namespace flag clone() accepts (CLONE_NEWTIME exists only for clone3/unshare)."""

AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16
NETLINK_ROUTE = 0

PER_LINUX = 0x0000
PER_LINUX32 = 0x0008
UNAME26 = 0x0020000
PERSONALITY_QUERY = 0xFFFFFFFF
PERSONALITY_MASK = 0xFFFFFFFF
"""The kernel reads personality's argument as an unsigned int, so only its low 32 bits are compared."""

MAP_SHARED = 0x01
MAP_ANONYMOUS = 0x20
ARG_32BIT_LIMIT = 1 << 32


@dataclass(frozen=True)
class Arg:
    """One argument comparison. For SCMP_CMP_MASKED_EQ, ``value`` is the mask and ``value_two`` the result."""

    index: int
    op: str
    value: int
    value_two: int = 0

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "value": self.value, "valueTwo": self.value_two, "op": self.op}


def eq(index: int, value: int) -> Arg:
    return Arg(index, "SCMP_CMP_EQ", value)


def lt(index: int, value: int) -> Arg:
    return Arg(index, "SCMP_CMP_LT", value)


def masked_eq(index: int, mask: int, value: int = 0) -> Arg:
    return Arg(index, "SCMP_CMP_MASKED_EQ", mask, value)


def on_64bit_abis(index: int) -> Arg:
    """A condition true for every real call on 64-bit ABIs and false on 32-bit ones (x86, x32, arm).

    ``arg < 2**32`` holds on x86_64/aarch64 for an argument the caller passes as a C int. On 32-bit
    ABIs libseccomp compares only the low 32 bits of the value, so the condition becomes ``arg < 0``,
    which nothing satisfies. Used where a 32-bit ABI would slip past an argument filter.
    """
    return lt(index, ARG_32BIT_LIMIT)


@dataclass(frozen=True)
class Rule:
    """One entry of the profile's ``syscalls`` array: names, an action and (ANDed) argument filters.

    Several allow rules for one syscall are ORed; whatever none of them allows gets the default EPERM.
    """

    comment: str
    names: tuple[str, ...]
    action: str = ALLOW
    errno: int | None = None
    args: tuple[Arg, ...] = ()

    def as_json(self) -> dict[str, object]:
        entry: dict[str, object] = {"names": list(self.names), "action": self.action}
        if self.errno is not None:
            entry["errnoRet"] = self.errno
        entry["args"] = [arg.as_json() for arg in self.args]
        entry["comment"] = self.comment
        return entry


# ---------------------------------------------------------------------------------------------
# Allowed without conditions
# ---------------------------------------------------------------------------------------------

PROCESSES: list[str] = [
    "fork", "vfork", "execve", "execveat", "exit", "exit_group",
    "wait4", "waitid", "waitpid",
    "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid", "setsid",
    "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
    "arch_prctl", "set_thread_area", "get_thread_area", "set_tls",
    "prctl", "seccomp", "capget", "capset",
    "getpriority", "setpriority", "ioprio_get", "ioprio_set",
    "kill", "tkill", "tgkill", "pidfd_open", "pidfd_send_signal", "process_mrelease",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    "map_shadow_stack", "uretprobe", "breakpoint", "cacheflush",
    "riscv_flush_icache", "riscv_hwprobe",
]  # fmt: skip
"""Process life cycle. runc applies the profile before it execs the container's first process, so
execve must pass; the harness (pid 1) forks, waits with wait4 and pidfd_open, and signals its child.
kill cannot reach the harness: user code runs under another uid. capset can only drop capabilities,
prctl's dangerous options need capabilities we drop, seccomp/landlock only restrict the caller."""

CREDENTIALS: list[str] = [
    "getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32", "getegid", "getegid32",
    "getresuid", "getresuid32", "getresgid", "getresgid32", "getgroups", "getgroups32",
    "setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32", "setregid", "setregid32",
    "setresuid", "setresuid32", "setresgid", "setresgid32", "setgroups", "setgroups32",
    "setfsuid", "setfsuid32", "setfsgid", "setfsgid32",
]  # fmt: skip
"""The harness runs as container root with CAP_SETUID/SETGID only and drops to the sandbox uid with
setgroups/setresgid/setresuid before exec; without those capabilities the calls cannot gain anything."""

LIMITS_AND_INFO: list[str] = [
    "getrlimit", "ugetrlimit", "setrlimit", "prlimit64", "getrusage", "times", "sysinfo", "uname",
    "getcpu", "getrandom",
]  # fmt: skip
"""The harness sets the rlimits that hold the sandbox (CPU, data, nproc, fsize, ...) and reads
getrusage; raising a hard limit needs CAP_SYS_RESOURCE, which is dropped."""

THREADS_AND_SCHEDULING: list[str] = [
    "futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait", "futex_requeue", "membarrier",
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "sched_rr_get_interval_time64",
]  # fmt: skip
"""Threads (go build, the JVM, node and rustc run many). Real-time policies need CAP_SYS_NICE or a
non-zero RLIMIT_RTPRIO; affinity only narrows the CPUs the container already has."""

SIGNALS: list[str] = [
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "rt_sigtimedwait", "rt_sigtimedwait_time64",
    "sigaltstack", "sigreturn", "sigprocmask", "signalfd", "signalfd4", "pause", "alarm",
    "getitimer", "setitimer",
]  # fmt: skip
"""Signal handling: Go and the JVM install handlers on alternate stacks; the harness waits on signals."""

TIME: list[str] = [
    "clock_gettime", "clock_gettime64", "clock_getres", "clock_getres_time64", "gettimeofday", "time",
    "nanosleep", "clock_nanosleep", "clock_nanosleep_time64",
    "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
]  # fmt: skip
"""Reading clocks, sleeping and timers. Setting the clock is in CLOCK_SETTING below."""

MEMORY: list[str] = [
    "brk", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "remap_file_pages",
    "mlock", "mlock2", "munlock", "mlockall", "munlockall", "mseal",
    "pkey_alloc", "pkey_free", "pkey_mprotect",
]  # fmt: skip
"""Memory management; mmap and mmap2 are allowed with conditions (SHARED_ANONYMOUS_MAPPINGS below).
mremap needs no filter: it only resizes or moves mappings that mmap already let through, its flags are
MREMAP_* rather than MAP_*, and growing a file mapping past the file's end allocates nothing. mlock is
held by RLIMIT_MEMLOCK, which the harness sets to 0."""

FILES: list[str] = [
    "open", "openat", "openat2", "creat", "close", "close_range",
    "read", "readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64", "pwritev", "pwritev2",
    "lseek", "_llseek", "dup", "dup2", "dup3", "fcntl", "fcntl64", "flock", "ioctl",
    "stat", "stat64", "lstat", "lstat64", "fstat", "fstat64", "fstatat64", "newfstatat", "statx",
    "statfs", "statfs64", "fstatfs", "fstatfs64",
    "access", "faccessat", "faccessat2", "getcwd", "chdir", "fchdir", "umask",
    "chmod", "fchmod", "fchmodat", "fchmodat2",
    "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    "getdents", "getdents64", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat",
    "link", "linkat", "symlink", "symlinkat", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "readlink", "readlinkat", "truncate", "truncate64", "ftruncate", "ftruncate64",
    "fallocate", "fadvise64", "fadvise64_64", "arm_fadvise64_64", "readahead",
    "fsync", "fdatasync", "sync_file_range", "sync_file_range2", "arm_sync_file_range",
    "sendfile", "sendfile64", "splice", "tee", "vmsplice", "copy_file_range", "cachestat",
    "utime", "utimes", "utimensat", "utimensat_time64", "futimesat",
    "getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr", "lsetxattr", "fsetxattr", "setxattrat",
    "listxattr", "llistxattr", "flistxattr", "listxattrat",
    "removexattr", "lremovexattr", "fremovexattr", "removexattrat",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
]  # fmt: skip
"""Files and descriptors. What a program may touch is decided by the mounts (read-only root, size-capped
tmpfs /box and /tmp) and by its uid, not here. mknod of devices needs CAP_MKNOD, which is dropped."""

EVENTS: list[str] = [
    "poll", "ppoll", "ppoll_time64", "select", "_newselect", "pselect6", "pselect6_time64",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_wait", "epoll_wait_old",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
    "io_setup", "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
]  # fmt: skip
"""Waiting on descriptors: the harness multiplexes the child's pipes and pidfd with epoll; node, Go and
the JVM run event loops. Classic AIO stays (its ring is bounded by fs.aio-max-nr); io_uring does not."""

PIPES_AND_QUEUES: list[str] = [
    "pipe", "pipe2",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_notify", "mq_getsetattr",
]  # fmt: skip
"""Pipes carry the program's stdio and results. POSIX message queues are held by RLIMIT_MSGQUEUE, which
the harness sets to 0 for user code."""

SOCKET_CALLS: list[str] = [
    "bind", "connect", "listen", "accept", "accept4", "shutdown",
    "getsockname", "getpeername", "getsockopt", "setsockopt",
    "send", "sendto", "sendmsg", "sendmmsg", "recv", "recvfrom", "recvmsg", "recvmmsg", "recvmmsg_time64",
]  # fmt: skip
"""Operations on sockets that socket()/socketpair() (filtered below) created. The container has no
network (--network none): only loopback inside its own namespace."""

# ---------------------------------------------------------------------------------------------
# Allowed with argument filters (whatever they do not match gets the default EPERM)
# ---------------------------------------------------------------------------------------------

CLONE_RULES: list[Rule] = [
    Rule("clone without namespace flags", ("clone",), args=(masked_eq(0, CLONE_NEW_ANY, 0),)),
]
"""fork, vfork, posix_spawn and threads all go through clone; a CLONE_NEW* flag would make a nested
namespace (a user namespace first, then mounts inside it). Flags are argument 0 on x86_64, x86, x32,
aarch64 and arm. The kernel reads only their low 32 bits, which is where the mask looks."""

SOCKET_RULES: list[Rule] = [
    Rule("socket: AF_UNIX", ("socket",), args=(eq(0, AF_UNIX), on_64bit_abis(1))),
    Rule("socket: AF_INET", ("socket",), args=(eq(0, AF_INET), on_64bit_abis(1))),
    Rule("socket: AF_INET6", ("socket",), args=(eq(0, AF_INET6), on_64bit_abis(1))),
    Rule(
        "socket: AF_NETLINK, NETLINK_ROUTE only",
        ("socket",),
        args=(eq(0, AF_NETLINK), on_64bit_abis(1), eq(2, NETLINK_ROUTE)),
    ),
    Rule("socketpair: AF_UNIX", ("socketpair",), args=(eq(0, AF_UNIX), on_64bit_abis(1))),
]
"""Sockets for the families programs use: local pipes (AF_UNIX) and IP on the namespace's loopback.
NETLINK_ROUTE serves getaddrinfo/getifaddrs (read-only without CAP_NET_ADMIN). Every other family is
refused: AF_VSOCK (40) reaches the hypervisor's host, AF_ALG, AF_PACKET, AF_KEY, AF_RDS, AF_TIPC, AF_CAN,
AF_XDP, other netlink protocols (nf_tables) and the like are kernel attack surface no judge needs.
The filter is an exact match on the whole register, so a family with high bits set (which the kernel
would truncate to an int) is refused rather than let through.

32-bit ABIs get no sockets at all (``on_64bit_abis`` on the type argument): on x86 libseccomp also
writes each socket() rule as ``socketcall(SYS_SOCKET)`` with the family condition replaced, and
socketcall reads the family from memory, so a filtered rule would let socket(AF_VSOCK) through there."""

PERSONALITY_RULES: list[Rule] = [
    Rule(
        f"personality: {name}",
        ("personality",),
        args=(masked_eq(0, PERSONALITY_MASK, value),),
    )
    for name, value in (
        ("PER_LINUX", PER_LINUX),
        ("PER_LINUX32", PER_LINUX32),
        ("UNAME26", UNAME26),
        ("PER_LINUX32|UNAME26", PER_LINUX32 | UNAME26),
        ("query", PERSONALITY_QUERY),
    )
]
"""personality with the harmless values only (the default, 32-bit uname, query). Refused: flags such as
ADDR_NO_RANDOMIZE or READ_IMPLIES_EXEC, which weaken ASLR or W^X for later execs."""

SHARED_ANONYMOUS_MAPPINGS: list[Rule] = [
    Rule("mmap: private", ("mmap",), args=(on_64bit_abis(2), masked_eq(3, MAP_SHARED, 0))),
    Rule("mmap: not anonymous", ("mmap",), args=(on_64bit_abis(2), masked_eq(3, MAP_ANONYMOUS, 0))),
    Rule("mmap2: private", ("mmap2",), args=(masked_eq(3, MAP_SHARED, 0),)),
    Rule("mmap2: not anonymous", ("mmap2",), args=(masked_eq(3, MAP_ANONYMOUS, 0),)),
]
"""mmap unless MAP_SHARED|MAP_ANONYMOUS together: shared anonymous memory is not counted by RLIMIT_DATA,
so without a memory cgroup it would be an unbounded memory bomb. (MAP_SHARED_VALIDATE has the MAP_SHARED
bit.) Shared file mappings stay: they live in size-capped tmpfs or in read-only files.

x86's ``mmap`` (number 90, reachable from any x86_64 program through ``int 0x80``) is old_mmap, which
reads its flags from memory where no filter can see them, so ``on_64bit_abis`` on prot refuses mmap on
32-bit ABIs altogether; 32-bit programs use mmap2, whose flags are in a register and are filtered. The
cost: x32 programs (an ABI disabled in stock kernels) cannot mmap at all.

Not closed here: mmap(MAP_SHARED) of /dev/zero gives shared anonymous memory through a file descriptor;
the container's /dev/zero must be masked for that (or a memory cgroup must hold)."""

# ---------------------------------------------------------------------------------------------
# Refused explicitly (EPERM unless noted). Anything unlisted is refused with EPERM as well; these
# are named so that the intent is visible and checked by tests.
# ---------------------------------------------------------------------------------------------

KEYRINGS: list[str] = ["keyctl", "add_key", "request_key"]
"""Kernel keyrings are only partly namespaced (quotas and persistent keyrings follow the host uid), have
a long bug record, and nothing in a judge needs them."""

NAMESPACES_AND_MOUNTS: list[str] = [
    "unshare", "setns",
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "open_tree", "open_tree_attr", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
]  # fmt: skip
"""Nested namespaces and mounts. A user namespace would hand user code every capability inside it and
with them a large kernel surface (mounts, netfilter, ...); runc has already set the container up, so
nothing inside needs these. (clone's CLONE_NEW* flags are refused above, clone3 below.)"""

KERNEL_ATTACK_SURFACE: list[str] = [
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "userfaultfd", "bpf", "perf_event_open",
]  # fmt: skip
"""Interfaces with a long record of privilege escalations and no use in a judge. libuv (node) falls
back to its thread pool when io_uring_setup fails."""

PROCESS_INSPECTION: list[str] = [
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp", "pidfd_getfd",
]  # fmt: skip
"""Reading or changing other processes' memory, files and state: isolates processes of one submission
from each other and from the harness even where uids would allow it."""

HOST_ADMINISTRATION: list[str] = [
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "create_module", "query_module", "get_kernel_syms",
    "reboot", "swapon", "swapoff", "acct", "syslog", "vhangup",
    "quotactl", "quotactl_fd", "lookup_dcookie", "sethostname", "setdomainname",
    "iopl", "ioperm", "modify_ldt", "vm86", "vm86old",
    "pciconfig_read", "pciconfig_write", "pciconfig_iobase",
    "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "bdflush",
]  # fmt: skip
"""Host administration, hardware access and obsolete interfaces (uselib, ustat, sysfs, _sysctl, ...).
Most need capabilities we drop anyway; refusing them here keeps the surface small if one is kept."""

CLOCK_SETTING: list[str] = [
    "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64", "adjtimex",
]  # fmt: skip
"""The clock is the host's (no time namespace): nothing in a sandbox may set or slew it."""

NUMA_POLICY: list[str] = [
    "get_mempolicy", "set_mempolicy", "set_mempolicy_home_node", "mbind", "migrate_pages", "move_pages",
]  # fmt: skip
"""NUMA placement: no use in a sandbox, and move_pages/migrate_pages act on other processes."""

FILE_HANDLES_AND_FANOTIFY: list[str] = [
    "name_to_handle_at", "open_by_handle_at", "fanotify_init", "fanotify_mark",
]  # fmt: skip
"""open_by_handle_at opens files by inode handle, bypassing the mount tree (the "shocker" container
escape); fanotify watches whole filesystems."""

MEMORY_LIMIT_BYPASSES: list[str] = [
    "memfd_create", "memfd_secret",
    "shmget", "shmat", "shmdt", "shmctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "semctl",
    "msgget", "msgsnd", "msgrcv", "msgctl",
    "ipc",
]  # fmt: skip
"""Memory that RLIMIT_DATA does not count, which is the only memory cap on rootless cgroup v1 hosts:
memfd files (shared, outside every tmpfs size cap), SysV shared memory (shmmax is effectively
unlimited), and SysV semaphore sets and message queues (kernel memory, charged only to a memory
cgroup; 32000 sets of 32000 semaphores is tens of GiB). ipc is the x86 multiplexer for all of SysV.
No language runtime here needs them (POSIX semaphores live in /dev/shm, a size-capped tmpfs)."""

MULTIPLEXERS_WITH_HIDDEN_ARGUMENTS: list[str] = ["socketcall"]
"""x86's socketcall takes socket()'s arguments from memory, where the family filter cannot see them
(socket(AF_VSOCK) would pass). Named for the record: libseccomp also derives socketcall rules from the
socket rules above, which is why those cannot match on 32-bit ABIs."""

HOST_WIDE_WRITEBACK: list[str] = ["sync", "syncfs"]
"""sync flushes every filesystem on the host: a loop of it stalls other tenants' I/O. fsync and
fdatasync of the program's own files stay."""

CLONE3: list[str] = ["clone3"]
"""clone3 passes its flags in a struct in memory, which seccomp cannot read, so CLONE_NEW* could not
be filtered. It answers ENOSYS: glibc (pthread_create, posix_spawn) then falls back to clone."""


ALLOWED_GROUPS: dict[str, list[str]] = {
    "processes": PROCESSES,
    "credentials": CREDENTIALS,
    "limits and information": LIMITS_AND_INFO,
    "threads and scheduling": THREADS_AND_SCHEDULING,
    "signals": SIGNALS,
    "time": TIME,
    "memory": MEMORY,
    "files": FILES,
    "events": EVENTS,
    "pipes and queues": PIPES_AND_QUEUES,
    "socket calls": SOCKET_CALLS,
}

FILTERED_RULES: list[Rule] = CLONE_RULES + SOCKET_RULES + PERSONALITY_RULES + SHARED_ANONYMOUS_MAPPINGS

BLOCKED_GROUPS: dict[str, tuple[list[str], int]] = {
    "keyrings": (KEYRINGS, EPERM),
    "namespaces and mounts": (NAMESPACES_AND_MOUNTS, EPERM),
    "kernel attack surface": (KERNEL_ATTACK_SURFACE, EPERM),
    "process inspection": (PROCESS_INSPECTION, EPERM),
    "host administration": (HOST_ADMINISTRATION, EPERM),
    "clock setting": (CLOCK_SETTING, EPERM),
    "NUMA policy": (NUMA_POLICY, EPERM),
    "file handles and fanotify": (FILE_HANDLES_AND_FANOTIFY, EPERM),
    "memory limit bypasses": (MEMORY_LIMIT_BYPASSES, EPERM),
    "multiplexers with arguments in memory": (MULTIPLEXERS_WITH_HIDDEN_ARGUMENTS, EPERM),
    "host-wide writeback": (HOST_WIDE_WRITEBACK, EPERM),
    "clone3 (glibc falls back to clone)": (CLONE3, ENOSYS),
}


def rules() -> list[Rule]:
    """Every rule in profile order: unconditional allows, filtered allows, explicit refusals."""
    allowed = [Rule(f"allow: {group}", tuple(names)) for group, names in ALLOWED_GROUPS.items()]
    blocked = [
        Rule(f"refuse: {group}", tuple(names), action=ERRNO, errno=errno)
        for group, (names, errno) in BLOCKED_GROUPS.items()
    ]
    return allowed + FILTERED_RULES + blocked


def check_disjoint(all_rules: Iterable[Rule]) -> None:
    """Fail if a syscall is named in two unconditional rules, or in an unconditional and a filtered
    one, or in filtered rules with different actions: libseccomp would then pick a winner we did not."""
    always: set[str] = set()
    filtered: dict[str, tuple[str, int | None]] = {}
    for rule in all_rules:
        for name in rule.names:
            if name in always or (not rule.args and name in filtered):
                raise ValueError(f"syscall {name!r} is named in more than one rule")
            if not rule.args:
                always.add(name)
            elif filtered.setdefault(name, (rule.action, rule.errno)) != (rule.action, rule.errno):
                raise ValueError(f"syscall {name!r} has filtered rules with different actions")


def build_profile() -> dict[str, object]:
    all_rules = rules()
    check_disjoint(all_rules)
    return {
        "defaultAction": ERRNO,
        "defaultErrnoRet": EPERM,
        "archMap": ARCH_MAP,
        "syscalls": [rule.as_json() for rule in all_rules],
    }


def render() -> str:
    """The profile as committed: stable key order, two-space indent, trailing newline."""
    return json.dumps(build_profile(), indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    summary = (__doc__ or "").splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m sandbox.seccomp_profile", description=summary)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the generated profile")
    parser.add_argument("--output", type=Path, default=PROFILE_PATH, help=f"profile path (default {PROFILE_PATH})")
    options = parser.parse_args(argv)
    text = render()
    if options.check:
        current = options.output.read_text() if options.output.is_file() else ""
        if current != text:
            print(f"{options.output} is stale: run python -m sandbox.seccomp_profile", file=sys.stderr)
            return 1
        print(f"{options.output} is up to date")
        return 0
    options.output.write_text(text)
    print(f"wrote {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
