"""One worker process: Dramatiq consumer threads (one sandbox slot each), heartbeat, janitor, metrics."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
from prometheus_client import start_http_server

from actors.broker import create_broker, redis_client
from actors.config import QueueConfig
from actors.dispatch import EXECUTE_ACTOR, WEBHOOK_ACTOR, Dispatcher
from actors.execute import ExecuteSubmission
from actors.metrics import WorkerMetrics
from actors.store import StoreUnavailable, SubmissionStore
from actors.webhooks import DeliverWebhook, WebhookFailed
from sandbox.config import SandboxConfig
from sandbox.languages import Language
from sandbox.podman_api import PodmanAPI, SandboxUnavailable
from sandbox.pool import WarmPool
from sandbox.result import failed_before_tests
from sandbox.runner import Runner, remove_orphans
from sandbox.statuses import Status

log = logging.getLogger(__name__)
WEBHOOK_MIN_BACKOFF_MS = 500
WEBHOOK_MAX_BACKOFF_MS = 30_000


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class WorkerOptions:
    queue: QueueConfig
    sandbox: SandboxConfig
    registry: Mapping[str, Language]
    languages: tuple[str, ...]  # what this host serves (its images exist)
    webhook_secret: bytes | None = None
    redis_password: str | None = None


class WorkerRuntime:
    """Built by a factory, started and stopped explicitly: nothing happens at import time."""

    def __init__(self, options: WorkerOptions, runner: Runner | None = None) -> None:
        self.options = options
        config = options.queue
        self.worker_id = new_worker_id()
        self.pool = self._make_pool() if runner is None else runner.pool
        self.runner = runner or Runner(options.sandbox, pool=self.pool)
        self.metrics = WorkerMetrics()
        client = redis_client(config, options.redis_password)
        self.broker = create_broker(config, client, extra=[self.metrics])
        self.store = SubmissionStore(client, config.result_ttl_s)
        self.dispatcher = Dispatcher(self.broker, config)
        self.execute = ExecuteSubmission(
            store=self.store,
            runner=self.runner,
            registry=options.registry,
            sandbox=options.sandbox,
            dispatcher=self.dispatcher,
            worker_id=self.worker_id,
            max_retries=config.infra_retries,
            metrics=self.metrics,
        )
        self.webhook = DeliverWebhook(
            self.store, config.webhook_timeout_s, config.webhook_allow_private, options.webhook_secret
        )
        self._declare_actors()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._worker: dramatiq.Worker | None = None
        self.started_at = time.time()

    def _make_pool(self) -> WarmPool | None:
        """Warm containers for the languages this worker serves; its own podman connection, so pool
        refills and removals never queue behind a submission's calls."""
        sandbox = self.options.sandbox
        if not sandbox.pool_enabled:
            return None
        served = {k: self.options.registry[k] for k in self.options.languages if k in self.options.registry}
        api = PodmanAPI(sandbox.podman_url, sandbox.api_timeout_s)
        return WarmPool(sandbox, served, api, slots=self.options.queue.worker_threads)

    def _declare_actors(self) -> None:
        config = self.options.queue
        queues = sorted({config.execute_queue(lang) for lang in self.options.languages})
        dramatiq.actor(broker=self.broker, actor_name=EXECUTE_ACTOR, queue_name=queues[0])(self.execute)
        for queue in queues[1:]:
            self.broker.declare_queue(queue)
        dramatiq.actor(
            broker=self.broker,
            actor_name=WEBHOOK_ACTOR,
            queue_name=config.webhook_queue,
            max_retries=config.webhook_retries,
            min_backoff=WEBHOOK_MIN_BACKOFF_MS,
            max_backoff=WEBHOOK_MAX_BACKOFF_MS,
            # Dramatiq ignores max_retries once retry_when is set, so the predicate bounds the count itself.
            retry_when=lambda retries, exc: isinstance(exc, WebhookFailed) and retries < config.webhook_retries,
        )(self.webhook)
        self.queues = [*queues, config.webhook_queue]

    def heartbeat_info(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "slots": self.options.queue.worker_threads,
            "busy": self.execute.slots.busy,
            "languages": list(self.options.languages),
            "queues": self.queues,
            "started_at": self.started_at,
            "last_heartbeat": time.time(),
            "pool": self.pool.stats() if self.pool else None,
        }

    def beat(self) -> None:
        self.store.heartbeat(self.worker_id, self.heartbeat_info(), self.options.queue.heartbeat_ttl_s)

    def sweep(self) -> int:
        """Requeue submissions whose worker died, or that this worker claimed and no longer runs (its result
        write failed); returns how many. Safe to run on every worker at once."""
        recovered = 0
        for submission_id, owner in self.store.processing():
            if owner == self.worker_id:
                if self.execute.holds(submission_id):
                    continue
            elif owner and self.store.worker_alive(owner):
                continue
            record = self.store.get(submission_id)
            if record is None or record.status is not Status.PROCESSING:
                self.store.forget_processing(submission_id)
                continue
            if not self.store.release(submission_id, owner or ""):
                continue  # another janitor got there first
            language = str(record.body.get("language", ""))
            if record.attempts >= self.options.queue.max_attempts:
                failed = failed_before_tests(language, Status.INTERNAL_ERROR, 0, "workers died while running it")
                self.store.finish(submission_id, Status.INTERNAL_ERROR, failed.as_dict())
                continue
            log.warning("requeueing submission %s from worker %s, which no longer runs it", submission_id, owner)
            self.dispatcher.execute(submission_id, language)
            self.metrics.recovered.inc()
            recovered += 1
        return recovered

    def _every(self, interval_s: float, action: Callable[[], object], name: str) -> None:
        def loop() -> None:
            while not self._stopping.is_set():
                try:
                    action()
                except (StoreUnavailable, SandboxUnavailable) as exc:
                    log.warning("%s: %s", name, exc)
                self._stopping.wait(interval_s)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start(self) -> None:
        config = self.options.queue
        self.beat()
        if config.metrics_port:
            start_http_server(config.metrics_port, addr=config.metrics_host, registry=self.metrics.registry)
        self._every(config.heartbeat_interval_s, self.beat, "heartbeat")
        self._every(config.janitor_interval_s, self.sweep, "janitor")
        self._every(config.janitor_interval_s, lambda: remove_orphans(self.runner.api), "orphans")
        if self.pool is not None:
            self.pool.start()
        self._worker = dramatiq.Worker(
            self.broker, worker_threads=config.worker_threads, worker_timeout=config.worker_timeout_ms
        )
        self._worker.queue_prefetch = config.worker_threads  # one message per free slot, no hoarding
        self._worker.start()
        log.info("worker %s consuming %s with %d slots", self.worker_id, self.queues, config.worker_threads)

    def stop(self) -> None:
        """Graceful: stop taking work, let running submissions finish, then leave the fleet."""
        if self._worker is not None:
            self._worker.stop(timeout=int(self.options.queue.shutdown_timeout_s * 1000))
        if self.pool is not None:
            self.pool.stop()  # after the last run: removes every warm container of this worker
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        try:
            self.store.drop_worker(self.worker_id)
        except StoreUnavailable as exc:
            log.warning("could not deregister: %s", exc)
        self.broker.close()


def serve_forever(runtime: WorkerRuntime) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    stop.wait()
    log.info("worker %s stopping", runtime.worker_id)
    runtime.stop()
