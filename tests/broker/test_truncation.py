"""Emptying a topic on the embedded broker keeps offsets, positions and every later record."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.record.default_records import DefaultRecordBatch

from messaging.truncation import next_offsets, offset_marker_batch, truncate_topic
from tests.broker.conftest import create_topics, reader_from_the_start

pytestmark = pytest.mark.timeout(60)
PARTITIONS = 4


def test_marker_is_a_valid_control_batch_covering_the_offsets() -> None:
    batch = DefaultRecordBatch(offset_marker_batch(375))

    assert batch.validate_crc()
    assert batch.is_control_batch
    assert batch.base_offset == 0
    assert batch.next_offset == 375


def test_marker_needs_an_offset_to_cover() -> None:
    with pytest.raises(ValueError):
        offset_marker_batch(0)


@pytest.fixture
async def topic(bootstrap: str, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    name = f"truncation-{request.node.name}"[:100]
    await create_topics(bootstrap, [name], PARTITIONS)
    yield name


class CountAssignments(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.count = 0

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.count += 1


async def produce(producer: AIOKafkaProducer, topic: str, values: range) -> None:
    # Sent without waiting one by one, so the client packs several records per batch.
    futures = [await producer.send(topic, b"%d" % v, partition=v % PARTITIONS) for v in values]
    await asyncio.gather(*futures)


async def test_a_subscribed_consumer_keeps_its_place_and_loses_nothing(
    bootstrap: str, topic: str
) -> None:
    listener = CountAssignments()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"{topic}-group",
        fetch_max_wait_ms=10,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await consumer.start()
    await producer.start()
    consumer.subscribe([topic], listener=listener)
    received: list[tuple[int, int, int]] = []

    async def read() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=100)
            for tp, records in batches.items():
                received.extend((tp.partition, r.offset, int(r.value or b"-1")) for r in records)

    reader = asyncio.create_task(read())
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        sent = 0
        for _ in range(3):
            await produce(producer, topic, range(sent, sent + 400))
            sent += 400
            while len(received) < sent:
                await asyncio.sleep(0.05)
            before = await next_offsets(bootstrap, topic, PARTITIONS)

            await truncate_topic(bootstrap, topic, PARTITIONS, before)

            assert await next_offsets(bootstrap, topic, PARTITIONS) == before
        await produce(producer, topic, range(sent, sent + 400))
        sent += 400
        async with asyncio.timeout(10):
            while len(received) < sent:
                await asyncio.sleep(0.05)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await producer.stop()
        await consumer.stop()

    assert sorted(value for _, _, value in received) == list(range(sent))
    assert listener.count == 1, "truncation must not rebalance the group"
    for partition in range(PARTITIONS):
        offsets = [offset for p, offset, _ in received if p == partition]
        assert offsets == list(range(len(offsets))), "offsets continue where they were"


async def test_only_records_after_the_truncation_remain(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await produce(producer, topic, range(0, 100))
        await truncate_topic(
            bootstrap, topic, PARTITIONS, await next_offsets(bootstrap, topic, PARTITIONS)
        )
        await produce(producer, topic, range(100, 108))
    finally:
        await producer.stop()

    seen: list[tuple[int, int]] = []
    async with reader_from_the_start(bootstrap, topic, PARTITIONS) as reader:
        async with asyncio.timeout(10):
            while len(seen) < 8:
                for records in (await reader.getmany(timeout_ms=200)).values():
                    seen.extend((r.offset, int(r.value or b"-1")) for r in records)

    assert sorted(value for _, value in seen) == list(range(100, 108))
    assert sorted(offset for offset, _ in seen) == [25, 25, 25, 25, 26, 26, 26, 26]
