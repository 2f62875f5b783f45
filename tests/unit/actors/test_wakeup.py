"""Consumers sleep until notified (enqueue or ack), never on a back-off timer; nothing is lost in between."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import dramatiq

from actors.wakeup import WakeBoard, _WakingConsumer

FALLBACK_MS = 5000  # long: a test that waits for it fails its latency bound
FAST_S = 1.0  # well below the fallback, far above scheduling noise


def encoded(n: int) -> bytes:
    options = {"redis_message_id": str(n)}
    return dramatiq.Message(queue_name="q", actor_name="a", args=(n,), kwargs={}, options=options).encode()


@dataclass
class FakeBroker:
    """The parts of NotifyingRedisBroker a consumer touches; the queue is a list of encoded messages."""

    wake: WakeBoard = field(default_factory=WakeBoard)
    wake_fallback_ms: int = FALLBACK_MS
    pending: list[bytes] = field(default_factory=list)
    fetches: int = 0
    acked: list[str] = field(default_factory=list)

    def do_fetch(self, queue: str, count: int) -> list[bytes]:
        self.fetches += 1
        taken, self.pending = self.pending[:count], self.pending[count:]
        return taken

    def do_ack(self, queue: str, message_id: str) -> None:
        self.acked.append(message_id)

    def enqueue(self, data: bytes, queue: str = "q") -> None:
        self.pending.append(data)
        self.wake.bump(queue)


def consumer(broker: FakeBroker, queue: str = "q", prefetch: int = 1, timeout_ms: int = 50) -> Any:
    return _WakingConsumer(broker, queue, prefetch, timeout_ms)


def later(delay_s: float, action: Any) -> threading.Thread:
    def run() -> None:
        time.sleep(delay_s)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_bump_between_looking_and_sleeping_is_not_lost() -> None:
    board = WakeBoard()
    seen = board.generation("q")
    board.bump("q")  # arrives after the consumer looked, before it sleeps
    started = time.monotonic()
    assert board.wait("q", seen, FALLBACK_MS / 1000)
    assert time.monotonic() - started < 0.1


def test_other_queues_do_not_wake_a_consumer_but_a_bump_of_all_does() -> None:
    board = WakeBoard()
    seen = board.generation("q")
    board.bump("other")
    assert not board.wait("q", seen, 0.05)
    board.bump()
    assert board.wait("q", seen, 0.05)


def test_an_idle_consumer_wakes_on_enqueue_not_on_a_timer() -> None:
    broker = FakeBroker()
    queue = consumer(broker)
    thread = later(0.2, lambda: broker.enqueue(encoded(1)))
    started = time.monotonic()
    assert next(queue) is None  # slept until the enqueue
    woke = time.monotonic() - started
    message = next(queue)
    thread.join()
    assert message is not None and tuple(message.args) == (1,)
    assert 0.15 < woke < FAST_S, woke
    assert broker.fetches == 2


def test_a_full_prefetch_waits_for_an_ack_then_fetches_at_once() -> None:
    broker = FakeBroker(pending=[encoded(1), encoded(2)])
    queue = consumer(broker, prefetch=1)
    first = next(queue)
    assert first is not None
    thread = later(0.2, lambda: queue.ack(first))
    started = time.monotonic()
    assert next(queue) is None  # no room: no fetch, sleeps until the ack frees a slot
    assert broker.fetches == 1
    assert time.monotonic() - started < FAST_S
    second = next(queue)
    thread.join()
    assert second is not None and tuple(second.args) == (2,)
    assert broker.acked == ["1"]


def test_a_delay_queue_holding_messages_polls_at_the_worker_timeout() -> None:
    broker = FakeBroker(pending=[encoded(1)])
    queue = consumer(broker, queue="q.DQ", prefetch=10, timeout_ms=50)
    assert next(queue) is not None  # held until its eta; the consumer thread checks etas when we return
    started = time.monotonic()
    assert next(queue) is None
    assert time.monotonic() - started < 0.5


def test_shutdown_shortens_the_sleep() -> None:
    broker = FakeBroker()
    queue = consumer(broker)
    broker.wake.close()
    started = time.monotonic()
    assert next(queue) is None
    assert time.monotonic() - started < 0.5


def test_the_broker_notifies_unless_turned_off() -> None:
    import redis
    from dramatiq.brokers.redis import RedisBroker

    from actors.broker import create_broker
    from actors.config import QueueConfig
    from actors.wakeup import NotifyingRedisBroker

    client = redis.Redis(host="127.0.0.1", port=1)  # never contacted: brokers connect lazily
    assert isinstance(create_broker(QueueConfig(), client), NotifyingRedisBroker)
    plain = create_broker(QueueConfig(consumer_wakeup=False), client)
    assert type(plain) is RedisBroker
