"""Settings of the queue side: Redis, Dramatiq tuning, recovery timing, webhooks and worker metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QueueConfig:
    redis_url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "dramatiq"
    queue_name: str = "kodewar"
    route_by_language: bool = False  # queue per language ("kodewar.python"): hosts only take what they can run
    result_ttl_s: int = 7 * 24 * 3600
    # Recovery: a worker refreshes its key every interval; it expires after the TTL when the worker dies;
    # every worker's janitor sweeps Processing submissions of dead workers back into the queue.
    heartbeat_interval_s: float = 2.0
    heartbeat_ttl_s: float = 10.0
    janitor_interval_s: float = 5.0
    max_attempts: int = 3  # runs of one submission lost to dead workers or broken hosts before Internal Error
    # Dramatiq
    broker_heartbeat_timeout_ms: int = 15_000
    broker_maintenance_chance: int = 100_000  # out of a million broker calls
    worker_threads: int = 2  # sandbox slots per worker process
    # Consumers sleep until an enqueue notifies them (actors.wakeup); the worker timeout now only paces the
    # delay queue while it holds delayed messages, and the fallback bounds a sleep no notification ends
    # (messages Dramatiq's maintenance requeues from dead workers).
    worker_timeout_ms: int = 50
    wake_fallback_ms: int = 1000
    consumer_wakeup: bool = True  # False: Dramatiq's own back-off polling (the benchmarks' baseline)
    infra_retries: int = 3
    max_message_age_ms: int = 3600_000
    shutdown_timeout_s: float = 60.0
    # Webhooks
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 5
    webhook_allow_private: bool = False  # loopback/private targets (tests and local stacks only)
    # Worker metrics endpoint (Prometheus text format)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9191  # 0 disables it

    def execute_queue(self, language: str) -> str:
        return f"{self.queue_name}.{language}" if self.route_by_language else self.queue_name

    @property
    def webhook_queue(self) -> str:
        return f"{self.queue_name}-webhooks"

    def queue_key(self, queue: str) -> str:
        """The Redis list that holds a queue's pending message ids (Dramatiq's layout)."""
        return f"{self.namespace}:{queue}"
