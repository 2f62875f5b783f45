"""Build the wheelhouse of a KodeWar checkout and pack it into one reproducible tar archive.

Run on the control node by the interpreter whose Python version the hosts have (pip resolves
dependency markers such as `python_full_version < "3.11.3"` for that interpreter):

    python3 build_wheelhouse.py SOURCE_DIR WHEELHOUSE_DIR ARCHIVE

Why an archive: hosts receive one file, so an unchanged wheelhouse costs one checksum, not one
round trip per wheel. Same code and same dependencies give a byte-identical archive (fixed
timestamps, owners and order), so re-running the playbook changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SOURCE_DATE_EPOCH = 315532800  # 1980-01-01: the earliest timestamp a zip (wheel) can hold
FILE_MODE = 0o644
# Never part of a build: VCS data, virtualenvs, build output and caches.
NOT_SOURCE = (".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".ansible")


def build_wheels(source: Path, wheelhouse: Path) -> None:
    """Fill the wheelhouse with the checkout's wheel and its dependencies' wheels, and nothing else.

    Builds from a clean copy of the checkout: setuptools reuses an in-tree build/ directory, so a
    module deleted from the code would otherwise live on in the wheel (and pip writes into the tree).
    """
    wheelhouse.mkdir(parents=True, exist_ok=True)
    for stale in wheelhouse.glob("*.whl"):
        stale.unlink()
    env = dict(os.environ, SOURCE_DATE_EPOCH=str(SOURCE_DATE_EPOCH))
    with tempfile.TemporaryDirectory(prefix="kodewar-wheel-") as scratch:
        clean = Path(scratch) / "src"
        shutil.copytree(source, clean, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheelhouse), str(clean)],
            check=True,
            env=env,
        )


def write_archive(wheelhouse: Path, archive: Path) -> bool:
    """Write the archive unless an identical one is there; True when it changed."""
    fd, tmp_name = tempfile.mkstemp(dir=archive.parent, prefix=archive.name + ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tarfile.open(tmp, "w", format=tarfile.GNU_FORMAT) as tar:
            for wheel in sorted(wheelhouse.glob("*.whl")):
                info = tarfile.TarInfo(wheel.name)
                info.size = wheel.stat().st_size
                info.mtime = SOURCE_DATE_EPOCH
                info.mode = FILE_MODE
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                with wheel.open("rb") as handle:
                    tar.addfile(info, handle)
        if archive.exists() and archive.read_bytes() == tmp.read_bytes():
            return False
        tmp.chmod(FILE_MODE)
        os.replace(tmp, archive)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, wheelhouse, archive = (Path(a).resolve() for a in argv)
    build_wheels(source, wheelhouse)
    changed = write_archive(wheelhouse, archive)
    print(f"{'changed' if changed else 'unchanged'} {archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
