"""A Kafka producer that keeps what it is asked to send (the `Producer` port of delivery)."""

from __future__ import annotations

from typing import Any


class RecordingProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> None:
        self.sent.append({"topic": topic, "key": key, "value": value, "headers": dict(headers)})
