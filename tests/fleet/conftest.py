"""The fleet test's fixture and hooks: cached artifacts, one fleet for the module, cleanup that always
runs, steps that stop at the first failure, host logs on failure and the timings in the summary."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.fleet import LANGUAGES, MAX_WORKERS, Fleet
from tests.fleet.support import (
    DEFAULT_CACHE,
    NOTES,
    TIMINGS,
    WORK_PREFIX,
    ensure_host_image,
    ensure_images_archive,
    ensure_wheelhouse_python,
    free_ports,
    host_journal,
    remove_containers,
    remove_stale_workdirs,
    snapshot_source,
    timed,
)

WORK_PARENT = Path("/var/tmp")
UNITS = {"redis": "redis-server", "api": "kodewar-api", "workers": "kodewar-worker"}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    if os.geteuid() != 0:
        pytest.fail("the fleet test runs as root: its hosts are rootful podman containers (make fleet-test)")
    remove_containers()  # hosts a killed run left behind (one fleet test at a time per machine)
    remove_stale_workdirs(WORK_PARENT)
    DEFAULT_CACHE.mkdir(mode=0o755, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=WORK_PARENT))
    (work / "owner.pid").write_text(str(os.getpid()))
    fleet: Fleet | None = None
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a CI timeout's SIGTERM still cleans up
    try:
        with timed("host image (cached by Dockerfile hash)") as step:
            step.phase += ": built" if ensure_host_image() else ": cached"
        with timed("sandbox images archive (cached by image id)"):
            archive = ensure_images_archive(DEFAULT_CACHE, [f"localhost/kodewar/{lang}:latest" for lang in LANGUAGES])
        with timed("wheelhouse interpreter and source snapshot"):
            python = ensure_wheelhouse_python(DEFAULT_CACHE)
            source = snapshot_source(work / "src")
        fleet = Fleet(work, source, archive, python, free_ports(2 + MAX_WORKERS))
        yield fleet
    finally:
        with timed("cleanup"):
            if fleet is not None:
                fleet.close()
            remove_containers(work.name)
            keep_logs(work, DEFAULT_CACHE / "last-run")
            shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def keep_logs(work: Path, dest: Path) -> None:
    """The playbook logs outlive the run for a post-mortem (they hold no secret: Fleet.provision checks)."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for log in work.glob("playbook-*.log"):
        shutil.copy2(log, dest / log.name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    item.parent.fleet_failed = item.name  # type: ignore[union-attr]
    fleet = getattr(item, "funcargs", {}).get("fleet")
    if isinstance(fleet, Fleet):
        for name, host in fleet.hosts.items():
            for group in host.groups:
                report.sections.append((f"journal of {UNITS[group]} on {name}", host_journal(name, UNITS[group])))


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = getattr(item.parent, "fleet_failed", None)
    if failed is not None and item.get_closest_marker("fleet") is not None:
        pytest.skip(f"an earlier step of the fleet scenario failed ({failed})")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NOTES:
        terminalreporter.section("fleet observations")
        for note in NOTES:
            terminalreporter.write_line(note)
    if TIMINGS:
        terminalreporter.section("fleet timings")
        for phase, seconds in TIMINGS:
            terminalreporter.write_line(f"{seconds:8.1f} s  {phase}")
        terminalreporter.write_line(f"{sum(s for _, s in TIMINGS):8.1f} s  total of the phases above")
