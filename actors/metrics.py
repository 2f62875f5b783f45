"""Worker metrics: a Dramatiq middleware plus sandbox verdict counters, served in Prometheus format."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from dramatiq.middleware import Middleware
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


class WorkerMetrics(Middleware):
    """Counts messages by actor and outcome and times them; one registry per worker process."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        labels = ["queue_name", "actor_name"]
        self.messages = Counter("kodewar_worker_messages_total", "Messages processed.", labels, registry=self.registry)
        self.errors = Counter(
            "kodewar_worker_message_errors_total", "Messages that raised.", labels, registry=self.registry
        )
        self.retries = Counter(
            "kodewar_worker_message_retries_total", "Messages retried.", labels, registry=self.registry
        )
        self.in_progress = Gauge(
            "kodewar_worker_messages_in_progress", "Messages running now.", labels, registry=self.registry
        )
        self.duration = Histogram(
            "kodewar_worker_message_duration_seconds",
            "Time to process a message.",
            labels,
            buckets=DURATION_BUCKETS_S,
            registry=self.registry,
        )
        self.verdicts = Counter(
            "kodewar_submissions_total",
            "Finished submissions by verdict.",
            ["language", "status"],
            registry=self.registry,
        )
        self.sandbox_seconds = Histogram(
            "kodewar_sandbox_run_seconds",
            "Wall time of one sandbox run (create to remove).",
            ["language"],
            buckets=DURATION_BUCKETS_S,
            registry=self.registry,
        )
        self.recovered = Counter(
            "kodewar_recovered_submissions_total", "Submissions requeued from dead workers.", registry=self.registry
        )
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        labels = (message.queue_name, message.actor_name)
        self.in_progress.labels(*labels).inc()
        self._started[message.message_id] = time.monotonic()
        if message.options.get("retries"):
            self.retries.labels(*labels).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        labels = (message.queue_name, message.actor_name)
        self.in_progress.labels(*labels).dec()
        self.messages.labels(*labels).inc()
        if exception is not None:
            self.errors.labels(*labels).inc()
        started = self._started.pop(message.message_id, None)
        if started is not None:
            self.duration.labels(*labels).observe(time.monotonic() - started)

    after_skip_message = after_process_message  # type: ignore[assignment]
