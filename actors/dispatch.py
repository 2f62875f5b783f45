"""Enqueue work by actor name: the API sends messages without importing the actors' code."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.errors import BrokerConnectionError

from actors.config import QueueConfig
from actors.store import StoreUnavailable

EXECUTE_ACTOR = "execute_submission"
WEBHOOK_ACTOR = "deliver_webhook"


class Dispatcher:
    def __init__(self, broker: dramatiq.Broker, config: QueueConfig) -> None:
        self.broker = broker
        self.config = config

    def _send(self, queue: str, actor: str, *args: object) -> None:
        message: dramatiq.Message[object] = dramatiq.Message(
            queue_name=queue, actor_name=actor, args=args, kwargs={}, options={}
        )
        try:
            self.broker.enqueue(message)
        except (redis.RedisError, BrokerConnectionError) as exc:
            raise StoreUnavailable(f"enqueue failed: {exc}") from exc

    def execute(self, submission_id: str, language: str) -> None:
        self._send(self.config.execute_queue(language), EXECUTE_ACTOR, submission_id, language)

    def webhook(self, submission_id: str) -> None:
        self._send(self.config.webhook_queue, WEBHOOK_ACTOR, submission_id)
