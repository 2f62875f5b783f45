"""ansible/ passes ansible-lint at the production profile its .ansible-lint asks for.

Lints a copy, so the linter's caches (.ansible/) never land in the checkout."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ANSIBLE_DIR = Path(__file__).resolve().parents[3] / "ansible"
LINT_TIMEOUT_S = 300


def test_ansible_lint_passes(tmp_path: Path) -> None:
    lint = Path(sys.executable).with_name("ansible-lint")
    if not lint.exists():
        pytest.fail("ansible-lint is missing from the virtualenv (pip install -e '.[test]')")
    copy = tmp_path / "ansible"
    shutil.copytree(ANSIBLE_DIR, copy, ignore=shutil.ignore_patterns(".ansible", "__pycache__"))
    env = dict(
        os.environ,
        PATH=f"{lint.parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        NO_COLOR="1",
    )
    run = subprocess.run(
        [str(lint), "--offline", "--nocolor"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_S,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "profile 'production' was required, and it passed" in (run.stdout + run.stderr).lower()
