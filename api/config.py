"""Settings of the HTTP side."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ApiConfig:
    max_body_bytes: int = 32 * 1024 * 1024  # oversized bodies get 413 before they are read
    max_wait_s: float = 30.0  # cap on ?wait=true long-polls
    max_batch: int = 20
    max_batch_ids: int = 100
    rate_limit_per_minute: int = 600  # submissions per subject
    max_queue_depth: int = 1000  # pending messages before 503 "queue is full"
    public_url: str = "http://127.0.0.1:8000"
