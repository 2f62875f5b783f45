"""gunicorn settings for the KodeWar API: `gunicorn -c api/gunicorn.conf.py 'kodewar.wiring:api_app()'`."""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("KODEWAR_API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("KODEWAR_API_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("KODEWAR_API_THREADS", "16"))  # a ?wait=true long-poll holds one thread
timeout = 75  # seconds; above the longest long-poll (KODEWAR_MAX_WAIT_S, 30 s)
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
errorlog = "-"
accesslog = os.environ.get("KODEWAR_API_ACCESS_LOG") or None  # URLs carry no secrets; off by default
proc_name = "kodewar-api"

# Metrics from every worker process are merged at scrape time (prometheus_client multiprocess mode).
# The variable must be set before any worker imports prometheus_client, i.e. here.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="kodewar-api-metrics-"))


def on_starting(server):  # type: ignore[no-untyped-def]
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# No gunicornc control socket: its default path is shared by every gunicorn of the user.
control_socket_disable = True
