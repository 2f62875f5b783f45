"""Fail closed: prove on this host that the sandbox holds, by probe runs, before taking any work."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.limits import Limits
from sandbox.podman_api import PodmanAPI, SandboxUnavailable
from sandbox.pool import WarmPool
from sandbox.result import Result
from sandbox.runner import Runner, SandboxError
from sandbox.statuses import Status
from sandbox.submission import Submission, TestCase

PACKAGED_PROFILE = Path(__file__).with_name("seccomp.json")
WARM_START_TIMEOUT_S = 30.0
PROBE_LIMITS = Limits(
    cpu_time_s=0.5, wall_time_s=1.0, memory_mb=64, max_processes=16, max_file_size_kib=1024, max_output_kib=64
)

# One Python program, one container: each test's input names the probe to run. Every probe prints
# "escaped" if the limit did NOT hold, so "escaped" anywhere is a failure.
PROBE_PROGRAM = r"""
import ctypes, errno, os, socket, sys, time
probe = sys.stdin.read().strip()
libc = ctypes.CDLL(None, use_errno=True)

def syscall_blocked(number, *args):
    return libc.syscall(number, *args) == -1 and ctypes.get_errno() in (errno.EPERM, errno.ENOSYS)

if probe == "fork":
    children = 0
    try:
        for _ in range(200):
            if os.fork() == 0:
                time.sleep(5)
                os._exit(0)
            children += 1
    except OSError:
        pass
    print("escaped" if children >= 16 else f"capped at {children}")
elif probe == "memory":
    hog = []
    for _ in range(64):
        hog.append(bytearray(16 * 1024 * 1024))
    print("escaped")
elif probe == "cpu":
    while True:
        pass
elif probe == "wall":
    time.sleep(30)
    print("escaped")
elif probe == "fsize":
    with open("/box/big", "wb") as handle:
        handle.write(b"x" * (4 * 1024 * 1024))
    print("escaped")
elif probe == "network":
    results = []
    for family, address in ((socket.AF_INET, ("127.0.0.1", 6379)), (socket.AF_INET, ("10.0.2.2", 53))):
        try:
            socket.create_connection(address, timeout=0.5).close()
            results.append("escaped")
        except OSError:
            results.append("blocked")
    interfaces = [name for _, name in socket.if_nameindex()]
    print("escaped" if "escaped" in results or interfaces != ["lo"] else "no network: " + ",".join(interfaces))
elif probe == "seccomp":
    SYS_keyctl, SYS_unshare, SYS_io_uring_setup, SYS_bpf = 250, 272, 425, 321
    CLONE_NEWUSER = 0x10000000
    blocked = {
        "keyctl": syscall_blocked(SYS_keyctl, 0, 0, 0, 0, 0),
        "unshare": syscall_blocked(SYS_unshare, CLONE_NEWUSER),
        "io_uring_setup": syscall_blocked(SYS_io_uring_setup, 1, 0),
        "bpf": syscall_blocked(SYS_bpf, 0, 0, 0),
    }
    try:
        socket.socket(40, socket.SOCK_STREAM).close()  # AF_VSOCK
        blocked["vsock"] = False
    except OSError:
        blocked["vsock"] = True
    open_fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    leaked = [fd for fd in open_fds if fd > 3]  # 3 is listdir's own descriptor
    allowed = [name for name, ok in blocked.items() if not ok]
    print("escaped " + ",".join(allowed) if allowed or leaked else "blocked: " + ",".join(blocked))
elif probe == "shared-memory":
    import mmap
    escaped = []
    try:
        with open("/dev/zero", "r+b") as zero:
            mmap.mmap(zero.fileno(), 1 << 20, mmap.MAP_SHARED)
            escaped.append("/dev/zero")
    except OSError:
        pass
    try:
        os.memfd_create("probe")
        escaped.append("memfd")
    except OSError:
        pass
    try:
        mmap.mmap(-1, 1 << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        escaped.append("anonymous shared")
    except OSError:
        pass
    SYS_shmget, IPC_PRIVATE, IPC_CREAT = 29, 0, 0o1000
    if not syscall_blocked(SYS_shmget, IPC_PRIVATE, 1 << 20, IPC_CREAT | 0o600):
        escaped.append("shmget")
    print("escaped " + ",".join(escaped) if escaped else "no uncounted shared memory")
elif probe == "identity":
    uid = os.getuid()
    caps = [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]
    print("escaped" if uid == 0 or int(caps, 16) != 0 else f"uid {uid}, no capabilities")
"""

# probe name -> the statuses that prove the limit held, and a fragment stdout must contain (if any)
EXPECTED: dict[str, tuple[frozenset[Status], str]] = {
    "identity": (frozenset({Status.ACCEPTED}), "no capabilities"),
    "fork": (frozenset({Status.ACCEPTED}), "capped at"),
    "memory": (frozenset({Status.MEMORY_LIMIT_EXCEEDED}), ""),
    "cpu": (frozenset({Status.TIME_LIMIT_EXCEEDED}), ""),
    "wall": (frozenset({Status.TIME_LIMIT_EXCEEDED}), ""),
    "fsize": (frozenset({Status.RUNTIME_ERROR_SIGXFSZ}), ""),
    "network": (frozenset({Status.ACCEPTED}), "no network"),
    "seccomp": (frozenset({Status.ACCEPTED}), "blocked:"),
    "shared-memory": (frozenset({Status.ACCEPTED}), "no uncounted shared memory"),
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def _guard(name: str, probe: Callable[[], Check]) -> Check:
    try:
        return probe()
    except (SandboxUnavailable, SandboxError, OSError, KeyError, ValueError) as exc:
        return Check(name, False, str(exc))


def check_service(api: PodmanAPI, config: SandboxConfig) -> list[Check]:
    api.ping()
    host = api.info().get("host", {})
    rootless = bool(host.get("security", {}).get("rootless"))
    runtime = host.get("ociRuntime", {}).get("name", "?")
    cgroups = host.get("cgroupVersion", "?")
    return [
        Check("podman service", True, f"{config.podman_url} answers (cgroup {cgroups}, runtime {runtime})"),
        Check("rootless", rootless, "podman runs rootless" if rootless else "podman runs as root: refusing"),
        Check("oci runtime", runtime == config.oci_runtime, f"service uses {runtime}, configured {config.oci_runtime}"),
    ]


def check_profile(config: SandboxConfig) -> Check:
    installed = Path(config.seccomp_profile_path)
    if not installed.is_file():
        return Check("seccomp profile", False, f"{installed} is missing: run `make seccomp`")
    same = hashlib.sha256(installed.read_bytes()).digest() == hashlib.sha256(PACKAGED_PROFILE.read_bytes()).digest()
    detail = f"{installed} matches the packaged profile" if same else f"{installed} differs from {PACKAGED_PROFILE}"
    return Check("seccomp profile", same, detail)


def check_images(api: PodmanAPI, config: SandboxConfig, languages: Iterable[Language]) -> list[Check]:
    checks = []
    for language in languages:
        ref = language.image(config.image_prefix)
        present = api.image_exists(ref)
        checks.append(
            Check(
                f"image {language.key}",
                present,
                ref if present else f"{ref} missing: kodewar images build {language.key}",
            )
        )
    return checks


def probe_limits(runner: Runner, python: Language) -> list[Check]:
    submission = Submission(
        code=PROBE_PROGRAM,
        language=python,
        tests=tuple(TestCase(input=name) for name in EXPECTED),
        limits=PROBE_LIMITS,
    )
    result: Result = runner.run(submission)
    checks = []
    for (name, (statuses, fragment)), test in zip(EXPECTED.items(), result.tests, strict=True):
        ok = test.status in statuses and fragment in test.stdout.text and "escaped" not in test.stdout.text
        output = test.stdout.text.strip()[:80]
        seen = f"{test.status.description}, cpu {test.time:.2f}s, wall {test.wall_time:.2f}s, {output}"
        checks.append(Check(f"limit {name}", ok, seen))
    return checks


def probe_limits_warm(config: SandboxConfig, api: PodmanAPI, python: Language) -> list[Check]:
    """The same probes through a warm-pool container (started first, handed its job later), so the pooled
    path is proven on this host too. A failed start fails the check; a host short of memory right now
    only skips it: its pool then stays empty and runs start cold, which the cold probes cover."""
    pool_config = replace(config, pool_min=(("python", 1),), pool_max_total=1, pool_max_per_language=1)
    pool = WarmPool(pool_config, {"python": python}, api, slots=1).start()
    try:
        if not pool.wait_ready("python", 1, WARM_START_TIMEOUT_S):
            if pool.last_error:
                return [Check("limit probes (warm pool)", False, pool.last_error)]
            return [Check("limit probes (warm pool)", True, "skipped: the host affords no warm container now")]
        checks = probe_limits(Runner(config, api, pool), python)
        if pool.hits != 1:
            return [Check("limit probes (warm pool)", False, "the probe run did not use the warm container")]
        return [Check(f"{c.name} (warm pool)", c.ok, c.detail) for c in checks]
    finally:
        pool.stop()


def _warm_probes(config: SandboxConfig, api: PodmanAPI, python: Language) -> list[Check]:
    try:
        return probe_limits_warm(config, api, python)
    except (SandboxUnavailable, SandboxError) as exc:
        return [Check("limit probes (warm pool)", False, str(exc))]


def run_checks(
    config: SandboxConfig,
    registry: Mapping[str, Language],
    languages: Iterable[str] | None = None,
    *,
    pooled: bool | None = None,
) -> list[Check]:
    """Every check, in order; later probes are skipped (and fail) when the service itself is down.
    With the warm pool on (`pooled`, default: the config's setting) the probes also run through it."""
    api = PodmanAPI(config.podman_url, config.api_timeout_s)
    try:
        checks = check_service(api, config)
    except SandboxUnavailable as exc:
        return [Check("podman service", False, str(exc))]
    checks.append(_guard("seccomp profile", lambda: check_profile(config)))
    wanted = [registry[k] for k in (languages or registry) if k in registry]
    checks += check_images(api, config, wanted)
    if "python" not in registry or not api.image_exists(registry["python"].image(config.image_prefix)):
        checks.append(Check("limit probes", False, "the python image is needed for the probe runs"))
        return checks
    runner = Runner(config, api)
    try:
        cold = probe_limits(runner, registry["python"])
    except (SandboxUnavailable, SandboxError) as exc:
        cold = [Check("limit probes", False, str(exc))]
    checks += cold
    warm_on = config.pool_enabled if pooled is None else pooled
    if warm_on and all(c.ok for c in cold):  # a host where the cold path fails is refused already
        checks += _warm_probes(config, api, registry["python"])
    return checks
