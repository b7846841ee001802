"""A worker never trusts a committed offset beyond its partition's end (a broker that lost
its data, holding offsets a client of the old one committed): it reads from the beginning."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from processors.kafka_transport import distrust_beyond_end
from tests.broker.conftest import create_topics

pytestmark = pytest.mark.timeout(60)
GROUP = "beyond-end-test"


async def test_a_commit_beyond_the_end_is_replaced_by_the_beginning(bootstrap: str) -> None:
    topic = "beyond-end-commands"
    await create_topics(bootstrap, [topic, "beyond-end-ok"], 1)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, b"%d" % n, partition=0)
            await producer.send_and_wait("beyond-end-ok", b"%d" % n, partition=0)
    finally:
        await producer.stop()
    stale, fine = TopicPartition(topic, 0), TopicPartition("beyond-end-ok", 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        consumer.assign([stale, fine])
        await consumer.commit({stale: 6450, fine: 3})
        committed = await consumer.seek_to_committed()

        fixed = await distrust_beyond_end(consumer, committed)

        assert fixed[stale] == 0
        assert fixed[fine] == 3  # within the log: trusted
        read: list[bytes] = []
        async with asyncio.timeout(10):
            while len(read) < 7:
                batches = await consumer.getmany(timeout_ms=100)
                read += [record.value or b"" for records in batches.values() for record in records]
        assert sorted(read) == sorted([b"0", b"1", b"2", b"3", b"4", b"3", b"4"])
    finally:
        await consumer.stop()
