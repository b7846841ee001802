"""Reading the dead-letter topic and producing to the system's topics, for the operator tools."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from launcher.config import DEFAULT_TOPIC_ROTATION_S
from messaging import headers as h
from messaging.rotation import TopicRotation
from messaging.topics import (
    DEAD_LETTERS,
    SLOT_SUFFIX,
    base_topic,
    declared_topics,
    rotated_topics,
)
from ops.settings import OpsSettings

READ_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    at: datetime
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]

    @property
    def header_text(self) -> dict[str, str]:
        return h.header_map(self.headers)

    @property
    def reason(self) -> str:
        return self.header_text.get(h.DLQ_REASON, "")

    @property
    def reason_code(self) -> str:
        return self.reason.split(":", 1)[0].strip() or "unknown"

    @property
    def source_topic(self) -> str:
        """The topics.yaml name it was consumed from (a slot topic's base)."""
        return base_topic(self.header_text.get(h.DLQ_TOPIC, ""))

    @property
    def redrive_count(self) -> int:
        try:
            return int(self.header_text.get(h.REDRIVE_COUNT, "0"))
        except ValueError:
            return 0

    @property
    def correlation_id(self) -> str | None:
        return self.header_text.get(h.CORRELATION_ID)


async def read_dead_letters(
    settings: OpsSettings, start: int | None = None, stop: int | None = None
) -> list[DeadLetter]:
    """Every dead letter now in the topic (offsets `start`..`stop`, inclusive, when given)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **settings.kafka_auth().client_options(),
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
    )
    try:
        await consumer.start()
        if DEAD_LETTERS not in await consumer.topics():
            return []
        partitions = await _dead_letter_partitions(settings)
        tps = [TopicPartition(DEAD_LETTERS, p) for p in range(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        firsts = await consumer.beginning_offsets(tps)
        letters: list[DeadLetter] = []
        remaining = {}
        for tp in tps:
            first = max(firsts[tp], start or 0)
            last = ends[tp] if stop is None else min(ends[tp], stop + 1)
            if first < last:
                consumer.seek(tp, first)
                remaining[tp] = last
            else:
                consumer.pause(tp)
        deadline = time.monotonic() + READ_TIMEOUT_S
        while remaining and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    if tp in remaining and record.offset < remaining[tp]:
                        letters.append(_dead_letter(tp.partition, record))
            for tp in list(remaining):
                if await consumer.position(tp) >= remaining[tp]:
                    consumer.pause(tp)
                    del remaining[tp]
        if remaining:
            raise TimeoutError(f"could not read {DEAD_LETTERS} within {READ_TIMEOUT_S} s")
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


async def _dead_letter_partitions(settings: OpsSettings) -> int:
    """How many partitions the (existing) dead-letter topic has: as the broker describes
    it (a consumer that subscribes to nothing learns no topic's partitions), never fewer
    than topics.yaml declares, which is what is left when the broker cannot say."""
    declared = next(t.partitions for t in declared_topics() if t.name == DEAD_LETTERS)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=5000,
        **settings.kafka_auth().client_options(),
    )
    try:
        await admin.start()
        described = await admin.describe_topics([DEAD_LETTERS])
        return max(declared, len(described[0]["partitions"]))
    except (KafkaError, IndexError, KeyError):
        return declared
    finally:
        await admin.close()


def _dead_letter(partition: int, record: object) -> DeadLetter:
    return DeadLetter(
        partition=partition,
        offset=record.offset,  # type: ignore[attr-defined]
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),  # type: ignore[attr-defined]
        key=record.key,  # type: ignore[attr-defined]
        value=record.value,  # type: ignore[attr-defined]
        headers=list(record.headers or ()),  # type: ignore[attr-defined]
    )


async def topic_rotation(settings: OpsSettings) -> TopicRotation:
    """The rotation every process uses: the setting, or, when it is not set, the local
    run's period if the broker holds slot topics (the embedded broker rotates)."""
    if settings.kafka_topic_rotation_s is not None:
        return TopicRotation(settings.kafka_topic_rotation_s)
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **settings.kafka_auth().client_options(),
    )
    await admin.start()
    try:
        names = set(await admin.list_topics())
    finally:
        await admin.close()
    # Writing to a slot other than the current one could race the janitor's emptying.
    slotted = any(f"{name}{SLOT_SUFFIX}1" in names for name in rotated_topics())
    return TopicRotation(DEFAULT_TOPIC_ROTATION_S if slotted else 0.0)


@dataclass(frozen=True)
class Produced:
    topic: str
    partition: int
    offset: int


def producer_options(settings: OpsSettings) -> dict[str, Any]:
    """The re-drive producer's settings. A re-drive is recorded as done (and then refused
    without --force) once its send returns, so a returned send must mean the message is
    safe: acks=all, every in-sync replica has it (acks=1 loses it with a failing leader).
    Not idempotent: that producer retries without end on a broker that cannot take the
    message, and a duplicate re-drive only repeats idempotent steps anyway."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "acks": "all",
        "request_timeout_ms": int(settings.ops_send_timeout_s * 1000),
        **settings.kafka_auth().client_options(),
    }


class Producer:
    """One producer for a command's re-drives."""

    def __init__(self, settings: OpsSettings, rotation: TopicRotation) -> None:
        self._producer = AIOKafkaProducer(**producer_options(settings))
        self._rotation = rotation

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def send(
        self, base: str, key: bytes | None, value: bytes | None, headers: h.Headers
    ) -> Produced:
        # The slot written now, as the ingress does: the janitor only empties idle slots.
        topic = self._rotation.current(base)
        metadata = await self._producer.send_and_wait(topic, value, key=key, headers=headers)
        return Produced(topic, metadata.partition, metadata.offset)
