"""`kodewar run` is a short-lived process: what it imports is a large part of its latency (docs/benchmarks.md)."""

import subprocess
import sys

# Heavy modules the run path must not load: podman-py and its HTTP stack, the warm pool (workers only),
# zipfile (only submissions with an archive), the HTTP client and the API/queue side.
NOT_ON_THE_RUN_PATH = (
    "podman",
    "requests",
    "urllib3",
    "rich",
    "http.client",
    "zipfile",
    "concurrent.futures",
    "sandbox.pool",
    "kodewar.client",
    "kodewar.wiring",
    "falcon",
    "dramatiq",
    "redis",
)


def test_the_cli_module_imports_nothing_heavy() -> None:
    probe = f"import sys, kodewar.cli; print(' '.join(m for m in {NOT_ON_THE_RUN_PATH!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []
