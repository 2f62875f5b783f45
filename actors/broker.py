"""The Dramatiq broker with its middleware spelled out (no defaults picked up by accident)."""

from __future__ import annotations

from collections.abc import Callable

import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, CurrentMessage, Middleware, Retries, TimeLimit

from actors.config import QueueConfig
from actors.store import StoreUnavailable
from actors.wakeup import NotifyingRedisBroker
from sandbox.podman_api import SandboxUnavailable
from sandbox.runner import SandboxError

INFRASTRUCTURE_ERRORS = (SandboxUnavailable, SandboxError, StoreUnavailable, ConnectionError, TimeoutError)
# Dramatiq's own limit only backs up the sandbox's deadline (it cannot interrupt a blocking call).
ACTOR_TIME_LIMIT_MS = 15 * 60 * 1000


def retry_infrastructure_only(max_retries: int) -> Callable[[int, BaseException], bool]:
    """Retries are for a broken host or service, never for a user's verdict, and at most max_retries of
    them: Dramatiq ignores its own max_retries once retry_when is set."""

    def retry_when(retries: int, exception: BaseException) -> bool:
        return isinstance(exception, INFRASTRUCTURE_ERRORS) and retries < max_retries

    return retry_when


def redis_client(config: QueueConfig, password: str | None = None) -> redis.Redis:
    """Every Redis connection of the service; the password comes from a file, never from a URL or log."""
    return redis.Redis.from_url(
        config.redis_url, password=password, socket_timeout=10, socket_connect_timeout=3, health_check_interval=30
    )


def create_broker(config: QueueConfig, client: redis.Redis, extra: list[Middleware] | None = None) -> RedisBroker:
    """Consumers are woken by a notification on enqueue (actors.wakeup), not by polling, unless turned off."""
    middleware: list[Middleware] = [
        AgeLimit(max_age=config.max_message_age_ms),
        TimeLimit(time_limit=ACTOR_TIME_LIMIT_MS),
        Retries(
            max_retries=config.infra_retries,
            min_backoff=500,
            max_backoff=10_000,
            retry_when=retry_infrastructure_only(config.infra_retries),
        ),
        CurrentMessage(),
        *(extra or []),
    ]
    options = {
        "client": client,
        "namespace": config.namespace,
        "middleware": middleware,
        "heartbeat_timeout": config.broker_heartbeat_timeout_ms,
        "maintenance_chance": config.broker_maintenance_chance,
    }
    if not config.consumer_wakeup:
        return RedisBroker(**options)
    return NotifyingRedisBroker(wake_fallback_ms=config.wake_fallback_ms, **options)
