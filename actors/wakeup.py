"""Wake Dramatiq's Redis consumers when work arrives, instead of letting them poll with back-off.

Dramatiq's Redis consumer sleeps (back-off up to the worker timeout) whenever its queue is empty or its
prefetch is full. Here every enqueue also publishes the queue's name on one channel; one listener thread
per worker process turns that into a per-queue generation counter, and a consumer with nothing to do
sleeps on it (and on its own acks, which free prefetch room) until the generation moves. A fallback
timeout covers what arrives without a notification: messages Dramatiq's maintenance requeues from dead
workers, and anything sent while the listener was disconnected (it also wakes everyone on reconnect).
Fetch, ack, nack and requeue stay Dramatiq's own, so at-least-once delivery is unchanged.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

log = logging.getLogger(__name__)

WAKE_FALLBACK_MS = 1000  # longest idle sleep of a consumer when no notification comes
SHUTDOWN_POLL_MS = 100  # while the worker shuts down, so consumers notice they were stopped
LISTEN_SLICE_S = 1.0  # the listener's blocking read, so it notices its own stop
RECONNECT_DELAY_S = 1.0
DELAY_QUEUE_SUFFIX = ".DQ"


class WakeBoard:
    """Per-queue generation counters. A consumer notes the generation before it looks for work and sleeps
    only while it has not moved since, so a notification between its fetch and its sleep is never lost."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generations: dict[str, int] = {}
        self._epoch = 0  # bumped for "every queue"
        self.closing = False

    def generation(self, queue: str) -> tuple[int, int]:
        with self._cond:
            return self._epoch, self._generations.get(queue, 0)

    def bump(self, queue: str | None = None) -> None:
        """Wake the consumers of one queue, or of every queue when None."""
        with self._cond:
            if queue is None:
                self._epoch += 1
            else:
                self._generations[queue] = self._generations.get(queue, 0) + 1
            self._cond.notify_all()

    def wait(self, queue: str, seen: tuple[int, int], timeout_s: float) -> bool:
        """Sleep until the queue's generation moves past `seen` or the timeout; True when woken."""
        with self._cond:
            return self._cond.wait_for(
                lambda: (self._epoch, self._generations.get(queue, 0)) != seen, timeout=timeout_s
            )

    def close(self) -> None:
        with self._cond:
            self.closing = True
        self.bump()


class _Listener(threading.Thread):
    """Subscribes to the wake channel and bumps the board; reconnects after Redis errors."""

    def __init__(self, client: redis.Redis, channel: str, board: WakeBoard) -> None:
        super().__init__(name="dramatiq-wake-listener", daemon=True)
        self.client = client
        self.channel = channel
        self.board = board
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                self.board.bump()  # what was sent while nobody listened is looked for now
                while not self.stopped.is_set():
                    message = pubsub.get_message(timeout=LISTEN_SLICE_S)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        self.board.bump(data.decode() if isinstance(data, bytes) else str(data))
            except (redis.RedisError, OSError) as exc:
                log.debug("wake listener: %s; consumers poll every %d ms meanwhile", exc, WAKE_FALLBACK_MS)
                self.stopped.wait(RECONNECT_DELAY_S)
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()


class _ShutdownWake(Middleware):
    """Worker shutdown: consumers stop sleeping long, so they see their stop flag within SHUTDOWN_POLL_MS."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if isinstance(broker, NotifyingRedisBroker):
            broker.wake.close()


class _WakingConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer, whose idle sleep waits for a notification instead of a back-off timer."""

    broker: NotifyingRedisBroker

    def __next__(self) -> Any:
        if not self.message_cache:
            board = self.broker.wake
            seen = board.generation(self.queue_name)
            room = self.prefetch - self.outstanding_message_count
            if room > 0:
                try:
                    self.message_cache = self.broker.do_fetch(self.queue_name, room)
                except redis.ConnectionError as exc:
                    raise ConnectionClosed(exc) from None
            if not self.message_cache:
                board.wait(self.queue_name, seen, self._idle_timeout_ms() / 1000)
                return None  # the consumer thread moves due delayed messages and checks its stop flag
        return super().__next__()  # pops the cache: Dramatiq's own decoding and bookkeeping

    def _idle_timeout_ms(self) -> float:
        if self.broker.wake.closing:
            return SHUTDOWN_POLL_MS
        if self.queue_name.endswith(DELAY_QUEUE_SUFFIX) and self.outstanding_message_count:
            return float(self.timeout)  # delayed messages held: their eta comes by the clock, not a message
        return float(self.broker.wake_fallback_ms)

    def ack(self, message: Any) -> None:
        try:
            super().ack(message)
        finally:
            self.broker.wake.bump(self.queue_name)  # prefetch room freed: fetch the next one now

    def nack(self, message: Any) -> None:
        try:
            super().nack(message)
        finally:
            self.broker.wake.bump(self.queue_name)


class NotifyingRedisBroker(RedisBroker):
    """RedisBroker whose enqueues notify consumers, and whose consumers sleep until notified."""

    def __init__(self, *, wake_fallback_ms: int = WAKE_FALLBACK_MS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wake_fallback_ms = wake_fallback_ms
        self.wake = WakeBoard()
        self._listener: _Listener | None = None
        self._listener_lock = threading.Lock()
        self.add_middleware(_ShutdownWake())

    @property
    def wake_channel(self) -> str:
        return f"{self.namespace}:__wake__"

    @property
    def consumer_class(self) -> type[_WakingConsumer]:
        return _WakingConsumer

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> _WakingConsumer:
        with self._listener_lock:
            if self._listener is None:
                self._listener = _Listener(self.client, self.wake_channel, self.wake)
                self._listener.start()
        return _WakingConsumer(self, queue_name, prefetch, timeout)

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> dramatiq.Message[Any]:
        sent = super().enqueue(message, delay=delay)
        try:
            self.client.publish(self.wake_channel, sent.queue_name)
        except redis.RedisError as exc:  # the message is queued; the consumers' fallback poll finds it
            log.debug("wake notification for %s failed: %s", sent.queue_name, exc)
        return sent

    def close(self) -> None:
        with self._listener_lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.stopped.set()
            listener.join(timeout=LISTEN_SLICE_S + 1)
        self.wake.close()
        super().close()
