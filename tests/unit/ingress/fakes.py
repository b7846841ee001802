"""The ingress's Kafka gateway in memory, for route tests that run no broker."""

from __future__ import annotations

import json
from typing import Any

from ingress.kafka_gateway import BrokerUnavailable, ReplyTimeout
from schemas.envelope import Reply


class FakeGateway:
    """Keeps what is published and answers requests with `reply`: a Reply, an exception
    to raise (BrokerUnavailable also refuses a plain publish), or None for no reply in time."""

    def __init__(self, reply: Reply | Exception | None = None, *, durable: bool = True) -> None:
        self.published: list[tuple[str, str, bytes]] = []
        self.reply = reply
        self.timeouts: list[float] = []
        self.durable = durable  # False: a memory-only broker (Tansu)

    def messages(self) -> list[tuple[str, str, dict[str, Any]]]:
        """What was published, values read as JSON."""
        return [(topic, key, json.loads(value)) for topic, key, value in self.published]

    async def publish(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        if isinstance(self.reply, BrokerUnavailable):
            raise self.reply
        self.published.append((topic, key, value))

    async def request(
        self, topic: str, key: str, value: bytes, *, timeout_s: float, **_: Any
    ) -> Reply:
        self.timeouts.append(timeout_s)
        self.published.append((topic, key, value))
        if self.reply is None:
            raise ReplyTimeout("no reply")
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply
