"""Every unit passes `systemd-analyze verify`; the API unit keeps a low `systemd-analyze security` exposure."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[3] / "systemd"
INSTALLED_KODEWAR = "/opt/kodewar/venv/bin/kodewar"
MAX_API_EXPOSURE = 2.0  # systemd's scale: 0 (locked down) .. 10 (exposed); "OK" is below 2


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies whose ExecStart points at this checkout's kodewar, since /opt/kodewar only exists once deployed."""
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing (apt install systemd)"
    here = str(Path(sys.executable).with_name("kodewar"))
    out = tmp_path_factory.mktemp("units")
    for unit in UNITS.glob("kodewar-*"):
        (out / unit.name).write_text(unit.read_text().replace(INSTALLED_KODEWAR, here))
    return out


def test_units_verify(units: Path) -> None:
    files = sorted(str(p) for p in units.iterdir())
    assert len(files) >= 4
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", *files], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stderr.strip(), run.stderr


def test_api_unit_is_hardened(units: Path) -> None:
    run = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(units / "kodewar-api.service")],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Overall exposure level for kodewar-api.service: ([0-9.]+)", run.stdout)
    assert match, run.stdout[-500:] + run.stderr
    assert float(match.group(1)) <= MAX_API_EXPOSURE


def test_worker_stop_timeout_covers_graceful_shutdown() -> None:
    from actors.config import QueueConfig

    text = (UNITS / "kodewar-worker.service").read_text()
    stop_s = int(re.search(r"^TimeoutStopSec=(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
    assert stop_s > QueueConfig().shutdown_timeout_s
