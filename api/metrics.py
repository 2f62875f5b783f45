"""API metrics. Under gunicorn each worker writes to PROMETHEUS_MULTIPROC_DIR and /metrics merges them."""

from __future__ import annotations

import os
from typing import Any

import falcon
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from actors.config import QueueConfig
from actors.store import StoreUnavailable, SubmissionStore

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kodewar_api_requests_total",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kodewar_api_request_duration_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )


class QueueCollector:
    """Read at scrape time from Redis, so every API process reports the same truth."""

    def __init__(self, store: SubmissionStore, queue: QueueConfig, languages: list[str]) -> None:
        self.store = store
        self.queue = queue
        self.languages = languages

    def collect(self) -> Any:
        depth = GaugeMetricFamily("kodewar_queue_depth", "Submissions waiting in the queue.")
        workers = GaugeMetricFamily("kodewar_workers", "Live worker processes.")
        slots = GaugeMetricFamily("kodewar_worker_slots", "Sandbox slots, by state.", labels=["state"])
        try:
            keys = sorted({self.queue.queue_key(self.queue.execute_queue(lang)) for lang in self.languages})
            depth.add_metric([], self.store.queue_depth(keys))
            fleet = list(self.store.workers())
        except StoreUnavailable:
            return
        workers.add_metric([], len(fleet))
        busy = sum(int(w.get("busy", 0)) for w in fleet)
        slots.add_metric(["busy"], busy)
        slots.add_metric(["total"], sum(int(w.get("slots", 0)) for w in fleet))
        yield from (depth, workers, slots)


class MetricsResource:
    def __init__(self, metrics: ApiMetrics, queue_collector: QueueCollector) -> None:
        self.metrics = metrics
        self.queue_collector = queue_collector

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)  # every gunicorn worker's files
        else:
            registry.register(_Chain(self.metrics.registry))
        registry.register(self.queue_collector)
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = generate_latest(registry)


class _Chain:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Any:
        return self.registry.collect()
