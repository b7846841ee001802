"""The gateway told its memory-only broker was lost: it refuses at once and fails its waiters."""

from __future__ import annotations

import asyncio

import pytest

from ingress.kafka_gateway import BrokerLost, KafkaGateway
from messaging.broker_features import broker_features


async def test_a_lost_broker_fails_the_waiting_requests_and_refuses_new_ones_at_once() -> None:
    # Nothing listens there: only the reopen, never reached here, would connect.
    gateway = KafkaGateway("127.0.0.1:9", "ingress-t", features=broker_features("tansu"))
    waiting = gateway.pending.register("c-1", "payment-requests", "mobi:1")
    gateway.broker_lost()
    with pytest.raises(BrokerLost):
        await waiting
    assert len(gateway.pending) == 0
    async with asyncio.timeout(0.1):  # refused, not sent and timed out
        with pytest.raises(BrokerLost):
            await gateway.publish("payment-requests", "mobi:2", b"{}", {})
        with pytest.raises(BrokerLost):
            await gateway.check(1.0)
    await gateway.stop()
