"""The committed seccomp profile: fresh, complete, and consistent.

Besides checking names, ``decide`` evaluates the JSON the way libseccomp does (allow rules ORed, the
conditions of one rule ANDed, 32-bit ABIs comparing only the low 32 bits), so the argument filters are
tested by the calls they must let through or refuse, not by their spelling.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest

from sandbox import seccomp_profile
from sandbox.seccomp_profile import PROFILE_PATH, main, render

ALLOW = "allow"
LOW_32_BITS = 0xFFFFFFFF

# Linux UAPI values used by the cases below.
SIGCHLD = 17
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_THREAD, CLONE_SYSVSEM, CLONE_SETTLS = 0x10000, 0x40000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
CLONE_VFORK = 0x4000
GLIBC_THREAD_FLAGS = (
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS
    | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID
)  # fmt: skip
GLIBC_FORK_FLAGS = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_CLOEXEC = 1, 2, 3, 0x80000
PROT_READ_WRITE = 0x3
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x03, 0x10, 0x20
MAP_NORESERVE, MAP_STACK = 0x4000, 0x20000

REQUIRED_EPERM = [
    # keyrings
    "keyctl", "add_key", "request_key",
    # nested namespaces and mounts
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    # kernel attack surface and inspection of other processes
    "io_uring_setup", "io_uring_enter", "io_uring_register", "userfaultfd", "bpf", "perf_event_open",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # host administration, clock, obsolete interfaces
    "lookup_dcookie", "quotactl", "name_to_handle_at", "open_by_handle_at", "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "syslog", "vhangup", "iopl", "ioperm",
    "nfsservctl", "uselib", "ustat", "sysfs", "_sysctl", "set_mempolicy", "mbind", "move_pages",
    "fanotify_init", "setdomainname", "sethostname",
    # memory that RLIMIT_DATA does not count; x86 multiplexers with arguments in memory
    "memfd_create", "shmget", "shmat", "ipc", "socketcall",
]  # fmt: skip

REQUIRED_ALLOWED = [
    # what runc, the harness (pid 1) and every runtime need
    "execve", "execveat", "fork", "vfork", "exit_group", "wait4", "waitid", "kill", "tgkill",
    "setuid", "setgid", "setgroups", "setresuid", "setresgid", "setrlimit", "prlimit64", "getrusage",
    "pipe2", "poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
    "pidfd_open", "read", "write", "openat", "close", "dup2", "fcntl", "ioctl", "newfstatat", "statx",
    "futex", "set_robust_list", "rseq", "brk", "munmap", "mprotect", "madvise", "mremap",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "sched_getaffinity", "sched_yield",
    "clock_gettime", "clock_nanosleep", "nanosleep", "getrandom", "prctl", "arch_prctl", "uname",
    "bind", "connect", "sendmsg", "recvmsg",
]  # fmt: skip


@pytest.fixture(scope="module")
def profile() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PROFILE_PATH.read_text())
    return loaded


def _condition_holds(arg: dict[str, Any], value: int, bits: int) -> bool:
    width = (1 << bits) - 1
    value &= width
    first, second = arg["value"] & width, arg["valueTwo"] & width
    op = arg["op"]
    if op == "SCMP_CMP_MASKED_EQ":
        return value & first == second & first
    compare = {
        "SCMP_CMP_EQ": value == first,
        "SCMP_CMP_NE": value != first,
        "SCMP_CMP_LT": value < first,
        "SCMP_CMP_LE": value <= first,
        "SCMP_CMP_GT": value > first,
        "SCMP_CMP_GE": value >= first,
    }
    return compare[op]


def decide(profile: dict[str, Any], name: str, *args: int, bits: int = 64) -> str | int:
    """``allow`` or the errno a call gets. 32-bit ABIs compare only the low 32 bits, as libseccomp does."""
    padded = [*args, *[0] * (6 - len(args))]
    matched: list[dict[str, Any]] = [
        rule
        for rule in profile["syscalls"]
        if name in rule["names"] and all(_condition_holds(a, padded[a["index"]], bits) for a in rule["args"])
    ]
    if any(rule["action"] == "SCMP_ACT_ALLOW" for rule in matched):
        return ALLOW
    for rule in matched:
        if rule["action"] == "SCMP_ACT_ERRNO":
            errno_ret: int = rule["errnoRet"]
            return errno_ret
    default: int = profile["defaultErrnoRet"]
    return default


def test_committed_profile_is_the_generated_one() -> None:
    assert PROFILE_PATH.read_text() == render(), "run: python -m sandbox.seccomp_profile"


def test_check_flag_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "seccomp.json"
    assert main(["--check", "--output", str(target)]) == 1
    assert main(["--output", str(target)]) == 0
    assert target.read_text() == render()
    assert main(["--check", "--output", str(target)]) == 0
    target.write_text(render().replace('"keyctl"', '"getpid2"'))
    assert main(["--check", "--output", str(target)]) == 1
    assert "stale" in capsys.readouterr().err


def test_refuses_by_default_with_eperm_on_both_architectures(profile: dict[str, Any]) -> None:
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    assert profile["defaultErrnoRet"] == errno.EPERM
    arches = {entry["architecture"]: set(entry["subArchitectures"]) for entry in profile["archMap"]}
    assert arches == {
        "SCMP_ARCH_X86_64": {"SCMP_ARCH_X86", "SCMP_ARCH_X32"},
        "SCMP_ARCH_AARCH64": {"SCMP_ARCH_ARM"},
    }


def test_every_rule_is_well_formed(profile: dict[str, Any]) -> None:
    for rule in profile["syscalls"]:
        assert rule["names"] and rule["comment"]
        assert rule["action"] in {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO"}
        assert ("errnoRet" in rule) == (rule["action"] == "SCMP_ACT_ERRNO")
        assert len({a["index"] for a in rule["args"]}) == len(rule["args"]), "one condition per argument"
        for arg in rule["args"]:
            assert 0 <= arg["index"] <= 5 and arg["value"] >= 0 and arg["valueTwo"] >= 0


@pytest.mark.parametrize("name", REQUIRED_EPERM)
def test_required_block_is_explicit(profile: dict[str, Any], name: str) -> None:
    rules = [rule for rule in profile["syscalls"] if name in rule["names"]]
    assert len(rules) == 1, f"{name} must be named once, in a refusing rule"
    assert rules[0]["action"] == "SCMP_ACT_ERRNO" and rules[0]["errnoRet"] == errno.EPERM
    assert rules[0]["args"] == []


def test_clone3_answers_enosys_so_glibc_falls_back_to_clone(profile: dict[str, Any]) -> None:
    assert decide(profile, "clone3", 0, 88) == errno.ENOSYS


@pytest.mark.parametrize("name", REQUIRED_ALLOWED)
def test_needed_calls_stay_allowed(profile: dict[str, Any], name: str) -> None:
    assert decide(profile, name) == ALLOW


def test_no_syscall_is_both_allowed_and_refused(profile: dict[str, Any]) -> None:
    allowed = {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ALLOW" for n in rule["names"]}
    refused = {n for rule in profile["syscalls"] if rule["action"] == "SCMP_ACT_ERRNO" for n in rule["names"]}
    assert not allowed & refused
    unconditional = [n for rule in profile["syscalls"] if not rule["args"] for n in rule["names"]]
    assert len(unconditional) == len(set(unconditional)), "a syscall named in two unconditional rules"
    filtered = {n for rule in profile["syscalls"] if rule["args"] for n in rule["names"]}
    assert not filtered & set(unconditional), "a syscall both filtered and unconditional"


def test_generator_rejects_conflicting_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    keyrings = [*seccomp_profile.KEYRINGS, "getpid"]  # getpid is also in PROCESSES
    monkeypatch.setitem(seccomp_profile.BLOCKED_GROUPS, "keyrings", (keyrings, errno.EPERM))
    with pytest.raises(ValueError, match="getpid"):
        render()


@pytest.mark.parametrize("flags", [GLIBC_THREAD_FLAGS, GLIBC_FORK_FLAGS, CLONE_VM | CLONE_VFORK | SIGCHLD])
def test_clone_for_threads_and_processes_is_allowed(profile: dict[str, Any], flags: int) -> None:
    assert decide(profile, "clone", flags, 0, 0, 0, 0) == ALLOW
    assert decide(profile, "clone", flags, bits=32) == ALLOW


@pytest.mark.parametrize("flag", CLONE_NAMESPACE_FLAGS.values(), ids=CLONE_NAMESPACE_FLAGS.keys())
def test_clone_with_a_namespace_flag_is_refused(profile: dict[str, Any], flag: int) -> None:
    assert decide(profile, "clone", GLIBC_FORK_FLAGS | flag) == errno.EPERM
    assert decide(profile, "clone", GLIBC_FORK_FLAGS | flag | 1 << 40) == errno.EPERM
    assert decide(profile, "clone", GLIBC_FORK_FLAGS | flag, bits=32) == errno.EPERM


def test_clone_filter_is_a_masked_eq_on_argument_zero(profile: dict[str, Any]) -> None:
    rules = [rule for rule in profile["syscalls"] if "clone" in rule["names"]]
    namespace_mask = sum(CLONE_NAMESPACE_FLAGS.values())
    assert [rule["args"] for rule in rules] == [
        [{"index": 0, "value": namespace_mask, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]
    ]


@pytest.mark.parametrize(
    ("family", "kind", "protocol"),
    [
        (1, SOCK_STREAM | SOCK_CLOEXEC, 0),
        (2, SOCK_STREAM, 0),
        (2, SOCK_DGRAM, 0),
        (10, SOCK_STREAM, 6),
        (16, SOCK_RAW, 0),
    ],
)
def test_ordinary_sockets_are_allowed(profile: dict[str, Any], family: int, kind: int, protocol: int) -> None:
    assert decide(profile, "socket", family, kind, protocol) == ALLOW


@pytest.mark.parametrize(
    ("family", "protocol"),
    [
        (40, 0),  # AF_VSOCK
        (40 | 1 << 32, 0),  # AF_VSOCK with high bits the kernel would drop
        (38, 0),  # AF_ALG
        (17, 0),  # AF_PACKET
        (15, 2),  # AF_KEY
        (21, 0),  # AF_RDS
        (30, 0),  # AF_TIPC
        (44, 0),  # AF_XDP
        (16, 12),  # AF_NETLINK, NETLINK_NETFILTER
        (16, 16),  # AF_NETLINK, NETLINK_GENERIC
    ],
)
def test_exotic_socket_families_are_refused(profile: dict[str, Any], family: int, protocol: int) -> None:
    assert decide(profile, "socket", family, SOCK_STREAM, protocol) == errno.EPERM
    assert decide(profile, "socketpair", family, SOCK_STREAM, protocol, 0) == errno.EPERM


def test_32bit_abis_get_no_sockets(profile: dict[str, Any]) -> None:
    """libseccomp turns each x86 socket() rule into socketcall(SYS_SOCKET) with the family condition
    replaced; the 64-bit-only condition makes those rules (and 32-bit socket()) match nothing."""
    for family in (1, 2, 10, 40):
        assert decide(profile, "socket", family, SOCK_STREAM, 0, bits=32) == errno.EPERM
        assert decide(profile, "socketpair", family, SOCK_STREAM, 0, 0, bits=32) == errno.EPERM


@pytest.mark.parametrize("persona", [0, 8, 0x20000, 0x20008, 0xFFFFFFFF, (1 << 64) - 1])
def test_harmless_personalities_are_allowed(profile: dict[str, Any], persona: int) -> None:
    assert decide(profile, "personality", persona) == ALLOW


@pytest.mark.parametrize("persona", [0x0040000, 0x0400000, 0x0200000, 0x0040008])
def test_other_personalities_are_refused(profile: dict[str, Any], persona: int) -> None:
    assert decide(profile, "personality", persona) == errno.EPERM


@pytest.mark.parametrize(
    "flags",
    [
        MAP_PRIVATE | MAP_ANONYMOUS,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
        MAP_PRIVATE | MAP_FIXED,
        MAP_SHARED,  # a file in a size-capped tmpfs or a read-only file
    ],
)
def test_ordinary_mappings_are_allowed(profile: dict[str, Any], flags: int) -> None:
    assert decide(profile, "mmap", 0, 4096, PROT_READ_WRITE, flags, 3, 0) == ALLOW
    assert decide(profile, "mmap2", 0, 4096, PROT_READ_WRITE, flags, 3, 0, bits=32) == ALLOW


@pytest.mark.parametrize("kind", [MAP_SHARED, MAP_SHARED_VALIDATE])
def test_shared_anonymous_mappings_are_refused(profile: dict[str, Any], kind: int) -> None:
    flags = kind | MAP_ANONYMOUS
    assert decide(profile, "mmap", 0, 1 << 30, PROT_READ_WRITE, flags, -1 & (2**64 - 1), 0) == errno.EPERM
    assert decide(profile, "mmap2", 0, 1 << 30, PROT_READ_WRITE, flags, LOW_32_BITS, 0, bits=32) == errno.EPERM


def test_x86_old_mmap_is_refused(profile: dict[str, Any]) -> None:
    """x86's mmap (old_mmap) reads its flags from memory, so its register arguments prove nothing."""
    assert decide(profile, "mmap", 0x1000, 0, 0, 0, 0, 0, bits=32) == errno.EPERM


@pytest.mark.parametrize("name", ["semget", "msgget", "memfd_secret", "sync", "syncfs", "modify_ldt"])
def test_further_refusals(profile: dict[str, Any], name: str) -> None:
    assert decide(profile, name) == errno.EPERM
