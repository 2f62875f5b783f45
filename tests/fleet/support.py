"""Helpers of the fleet test: cached artifacts, systemd-in-podman hosts and the playbook runs.

Everything here runs as root on the test machine. Hosts are rootful `--systemd=always --privileged`
containers on the host network, so every service listens on its own 127.0.0.1 port.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
HOST_DOCKERFILE_DIR = Path(__file__).resolve().parent / "host"
HOST_IMAGE = "localhost/kodewar/fleet-host:bookworm"
BASE_IMAGE = "localhost/kodewar/base:bookworm"
DOCKERFILE_HASH_LABEL = "org.kodewar.fleet.dockerfile-sha256"
RUN_LABEL = "org.kodewar.fleet.run"  # on every host container, so a later run can remove leftovers
HOST_WORKER_UID = 1500  # `useradd --uid` in host/Dockerfile: the owner of each worker's storage directory
HOST_STORAGE = "/home/kodewar/.local/share/containers"
DEFAULT_CACHE = Path(os.environ.get("KODEWAR_FLEET_CACHE", "/var/tmp/kodewar-fleet-cache"))
WORK_PREFIX = "kodewar-fleet-"
BOOT_TIMEOUT_S = 90
PODMAN_TIMEOUT_S = 120
PLAYBOOK_TIMEOUT_S = 900
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)"
)


class FleetError(RuntimeError):
    """A step of setting up or driving the fleet failed."""


# -- timings ---------------------------------------------------------------------------------------

TIMINGS: list[tuple[str, float]] = []  # (phase, seconds), printed in the pytest summary
NOTES: list[str] = []  # what the scenario observed, printed in the pytest summary


class timed:
    """`with timed("phase"):` records how long the phase took."""

    def __init__(self, phase: str) -> None:
        self.phase = phase

    def __enter__(self) -> timed:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.monotonic() - self.started
        TIMINGS.append((self.phase, self.seconds))


# -- commands --------------------------------------------------------------------------------------


def run(cmd: Sequence[str], timeout_s: float = PODMAN_TIMEOUT_S, check: bool = True, **kwargs: Any) -> str:
    """Run a command, return its stdout; FleetError with its stderr when it fails."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    try:
        done = subprocess.run(list(cmd), stderr=subprocess.PIPE, text=True, timeout=timeout_s, check=False, **kwargs)
    except subprocess.TimeoutExpired as exc:
        raise FleetError(f"{' '.join(cmd)}: no answer in {timeout_s} s") from exc
    if check and done.returncode != 0:
        raise FleetError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done.stdout


def podman(*args: str, timeout_s: float = PODMAN_TIMEOUT_S, check: bool = True) -> str:
    """Rootful podman (root's storage), where the host containers live."""
    return run(["podman", *args], timeout_s=timeout_s, check=check)


def worker_user_podman(*args: str) -> list[str]:
    """The command line of podman as the machine's worker user (its storage holds the sandbox images)."""
    user = os.environ.get("KODEWAR_WORKER_USER", "kodewar")
    entry = pwd.getpwnam(user)
    return [
        "runuser", "-u", user, "--", "env", f"HOME={entry.pw_dir}", f"XDG_RUNTIME_DIR=/run/user/{entry.pw_uid}",
        "PATH=/usr/local/bin:/usr/bin:/bin", "podman", *args,
    ]  # fmt: skip


# -- cached artifacts: the host image and the sandbox images archive ---------------------------------


def ensure_host_image() -> bool:
    """Build the host image unless one built from this very Dockerfile exists; True when it built."""
    digest = hashlib.sha256((HOST_DOCKERFILE_DIR / "Dockerfile").read_bytes()).hexdigest()
    label = podman(
        "image", "inspect", "--format", f'{{{{ index .Labels "{DOCKERFILE_HASH_LABEL}" }}}}', HOST_IMAGE, check=False
    ).strip()
    if label == digest:
        return False
    previous = podman("image", "inspect", "--format", "{{.Id}}", HOST_IMAGE, check=False).strip()
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE], check=False).returncode != 0:
        copy_image_to_root(BASE_IMAGE)
    podman(
        "build", "--network", "host", "--pull=never", "--build-arg", f"BASE={BASE_IMAGE}",
        "--label", f"{DOCKERFILE_HASH_LABEL}={digest}", "--tag", HOST_IMAGE, str(HOST_DOCKERFILE_DIR),
        timeout_s=1800,
    )  # fmt: skip
    if previous:
        podman("rmi", previous, check=False)  # the superseded build, now untagged
    return True


def copy_image_to_root(image: str) -> None:
    """`podman save` as the worker user | `podman load` as root."""
    save = subprocess.Popen(worker_user_podman("save", image), stdout=subprocess.PIPE)
    try:
        run(["podman", "load"], stdin=save.stdout, timeout_s=600)
    finally:
        if save.stdout:
            save.stdout.close()
        if save.wait(timeout=60) != 0:
            raise FleetError(f"podman save {image} as the worker user failed")


def ensure_images_archive(cache: Path, images: Sequence[str]) -> Path:
    """A `podman save` archive of the sandbox images, cached under the images' ids."""
    ids = [run(worker_user_podman("image", "inspect", "--format", "{{.Id}}", image)).strip() for image in images]
    key = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    archive = cache / f"images-{key}.tar"
    if archive.exists():
        return archive
    partial = archive.with_suffix(".partial")
    multi = ["--multi-image-archive"] if len(images) > 1 else []
    with partial.open("wb") as out:
        run(worker_user_podman("save", *multi, *images), stdout=out, timeout_s=600)
    partial.chmod(0o644)
    os.replace(partial, archive)
    for old in cache.glob("images-*.tar"):
        if old != archive:
            old.unlink()
    return archive


def ensure_wheelhouse_python(cache: Path) -> Path:
    """A venv of the machine's Debian python3: the hosts run the same Debian 12 Python, and the
    wheelhouse must be resolved by an interpreter of the hosts' version (see the common role)."""
    python = cache / "wheelhouse-venv" / "bin" / "python"
    if not python.exists():
        run(["/usr/bin/python3", "-m", "venv", "--clear", str(python.parent.parent)], timeout_s=300)
    return python


def snapshot_source(dest: Path) -> Path:
    """Copy the checkout's files (tracked and untracked, not ignored): both runs of the playbook then
    deploy the same code even while the working tree changes, and idempotence means something."""
    try:
        listing = run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    except (FleetError, OSError):  # not a git checkout: everything but the usual generated trees
        ignore = shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".ansible")
        shutil.copytree(REPO, dest, ignore=ignore)
        return dest
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


# -- hosts -----------------------------------------------------------------------------------------


@dataclass
class Host:
    name: str
    groups: tuple[str, ...]
    vars: dict[str, Any] = field(default_factory=dict)
    storage: Path | None = None  # bind-mounted rootless storage of a worker host

    @property
    def is_worker(self) -> bool:
        return "workers" in self.groups


def start_host(host: Host, run_id: str) -> None:
    mounts: list[str] = []
    if host.storage is not None:
        host.storage.mkdir(mode=0o700)
        os.chown(host.storage, HOST_WORKER_UID, HOST_WORKER_UID)
        mounts = ["--volume", f"{host.storage}:{HOST_STORAGE}"]
    podman(
        "run", "--detach", "--name", host.name, "--hostname", host.name, "--add-host", f"{host.name}:127.0.1.1",
        "--label", f"{RUN_LABEL}={run_id}", "--systemd=always", "--privileged", "--network", "host",
        "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096", *mounts, HOST_IMAGE,
    )  # fmt: skip
    wait_booted(host.name)


def wait_booted(name: str) -> None:
    """Until systemd in the host has finished booting (right after `podman run` it may not answer yet)."""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    state = ""
    while state not in ("running", "degraded") and time.monotonic() < deadline:
        state = podman("exec", name, "systemctl", "is-system-running", "--wait", timeout_s=BOOT_TIMEOUT_S, check=False)
        state = state.strip()
        if state not in ("running", "degraded"):
            time.sleep(0.2)
    if state != "running":
        failed = podman("exec", name, "systemctl", "--failed", "--no-legend", check=False)
        raise FleetError(f"{name} booted {state or 'nowhere'}; failed units:\n{failed}")
    uid = podman("exec", name, "id", "-u", "kodewar").strip()
    if uid != str(HOST_WORKER_UID):
        raise FleetError(f"{name}: kodewar has uid {uid}, the test expects {HOST_WORKER_UID} (host/Dockerfile)")


def remove_containers(label_value: str | None = None) -> None:
    """Remove host containers of one run, or of every run (leftovers of a killed test)."""
    selector = f"{RUN_LABEL}={label_value}" if label_value else RUN_LABEL
    names = podman("ps", "--all", "--filter", f"label={selector}", "--format", "{{.Names}}", check=False).split()
    if names:
        podman("rm", "--force", "--time", "0", *names, check=False)


def remove_stale_workdirs(parent: Path) -> None:
    """Work directories of earlier runs whose pytest process is gone (it was killed before cleaning up)."""
    for directory in parent.glob(f"{WORK_PREFIX}*"):
        owner = directory / "owner.pid"
        try:
            pid = int(owner.read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(directory, ignore_errors=True)


def host_journal(name: str, unit: str, lines: int = 40) -> str:
    return podman("exec", name, "journalctl", "--no-pager", "-n", str(lines), "-u", unit, check=False)


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together, so no two are the same)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


# -- the playbook ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaybookRun:
    rc: int
    output: str
    recap: dict[str, dict[str, int]]
    seconds: float

    def changed_tasks(self, host: str) -> list[str]:
        """Names of the tasks that reported a change on host (for failure messages)."""
        changed, task = [], ""
        for line in self.output.splitlines():
            if line.startswith(("TASK [", "RUNNING HANDLER [")):
                task = line.split("[", 1)[1].rsplit("]", 1)[0]
            elif line.startswith("changed: [") and line[len("changed: [") :].startswith(host + "]"):
                changed.append(task)
        return sorted(set(changed))

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_playbook(ansible_dir: Path, inventory: Path, secrets: Path, work: Path, log: Path) -> PlaybookRun:
    env = dict(
        os.environ,
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_HOME=str(work / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(work / "ansible-home" / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
    )
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), "-e", f"@{secrets}", "site.yml"]
    started = time.monotonic()
    done = subprocess.run(
        cmd, cwd=ansible_dir, env=env, capture_output=True, text=True, timeout=PLAYBOOK_TIMEOUT_S, check=False
    )
    output = done.stdout + done.stderr
    log.write_text(output)
    recap = {
        m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
        for m in map(RECAP.match, output.splitlines())
        if m
    }
    return PlaybookRun(done.returncode, output, recap, time.monotonic() - started)


def write_private(path: Path, data: Mapping[str, Any]) -> None:
    """A 0600 file, created with that mode (never readable by others, not even for a moment)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(dict(data), handle)
