"""Webhooks to a receiver on loopback: the result JSON arrives, failures are retried with back-off,
and a receiver that never accepts gets a bounded number of tries (KODEWAR_WEBHOOK_RETRIES)."""

from __future__ import annotations

import itertools
import time

from kodewar.stack import LocalStack
from tests.integration.service.conftest import WEBHOOK_RETRIES, ClientFactory
from tests.integration.service.support import (
    ACCEPTED,
    SEED,
    TRIPLE,
    WRONG_ANSWER,
    status_id,
    wait_until,
    webhook_receiver,
)

DELIVERY_TIMEOUT_S = 15.0
MIN_BACKOFF_S = 0.5  # actors.worker.WEBHOOK_MIN_BACKOFF_MS
# Dramatiq's back-off for retry k is min_backoff * 2**k times a jitter in [1, 2).
RETRY_DELAYS_MAX_S = [MIN_BACKOFF_S * 2**k * 2 for k in range(WEBHOOK_RETRIES)]
DELIVERY_OVERHEAD_S = 1.0  # consumer poll, the POST itself, scheduling
DEAD_LETTERS = "dramatiq:kodewar-webhooks.XQ"


def test_webhook_delivers_the_result(client: ClientFactory) -> None:
    api = client("hooked")
    with webhook_receiver() as receiver:
        response = api.post("/api/v1/submissions", {**TRIPLE, "callback_url": receiver.url}, wait="true")
        assert response.status_code == 200, response.text
        finished = time.monotonic()
        (delivery,) = receiver.wait_for(1, DELIVERY_TIMEOUT_S)
    print(f"webhook arrived {delivery.at - finished:.2f} s after the long-poll returned")
    assert delivery.headers["Content-Type"] == "application/json"
    assert delivery.headers["User-Agent"].startswith("KodeWar-Webhook/")
    body = delivery.body
    assert body["submission_id"] == response.json()["submission_id"]
    assert status_id(body) == WRONG_ANSWER
    assert body["tests"][0]["stdout"].strip() == "6"
    assert body["tests"] == response.json()["tests"]
    assert "callback_url" not in body and "owner" not in body


def test_failing_receiver_gets_it_on_the_third_try(client: ClientFactory) -> None:
    api = client("hooked")
    with webhook_receiver([500, 500]) as receiver:
        response = api.post("/api/v1/submissions", {**SEED, "callback_url": receiver.url}, wait="true")
        assert response.status_code == 200, response.text
        finished = time.monotonic()
        deliveries = receiver.wait_for(3, DELIVERY_TIMEOUT_S)
        time.sleep(MIN_BACKOFF_S * 2)  # long enough for a wrongful fourth try to start arriving
        assert len(receiver.deliveries) == 3, "delivered again after the receiver answered 200"
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(deliveries)]
    print(f"first try {deliveries[0].at - finished:.2f} s after the result, retries after {gaps} s")
    assert all(d.body == deliveries[0].body for d in deliveries)
    assert status_id(deliveries[0].body) == ACCEPTED
    assert gaps[0] >= MIN_BACKOFF_S * 0.9, "retried without back-off"
    bound = RETRY_DELAYS_MAX_S[0] + RETRY_DELAYS_MAX_S[1] + 3 * DELIVERY_OVERHEAD_S
    assert deliveries[2].at - finished <= bound, f"third try came {deliveries[2].at - finished:.1f} s after the result"


def test_receiver_that_never_accepts_gets_a_bounded_number_of_tries(stack: LocalStack, client: ClientFactory) -> None:
    api = client("hooked")
    redis = stack.redis_client()
    dead_before = redis.zcard(DEAD_LETTERS)
    tries = 1 + WEBHOOK_RETRIES
    with webhook_receiver([500] * 100) as receiver:
        response = api.post("/api/v1/submissions", {**SEED, "callback_url": receiver.url}, wait="true")
        assert response.status_code == 200, response.text
        bound = sum(RETRY_DELAYS_MAX_S) + tries * DELIVERY_OVERHEAD_S
        receiver.wait_for(tries, bound)
        # Retries exhausted: Dramatiq moves the message to the dead-letter queue instead of trying again.
        wait_until(lambda: redis.zcard(DEAD_LETTERS) > dead_before, RETRY_DELAYS_MAX_S[-1] * 2 + 2, "the dead letter")
        assert len(receiver.deliveries) == tries
