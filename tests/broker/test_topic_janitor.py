"""The janitor empties idle slot topics once consumed, and nothing that is not."""

from __future__ import annotations

import asyncio
import io

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from launcher import topic_janitor
from launcher.logs import Log, OutputSink
from launcher.topic_janitor import REQUEST_QUIET_S, TopicJanitor
from messaging.rotation import REPLY_SLOTS, REPLY_WINDOW_S, TopicRotation
from messaging.topics import (
    MERCH_PAYMENT_EVENTS,
    PAYMENT_REQUESTS,
    declared_topics,
    reply_topic,
    rotated_topics,
)
from messaging.truncation import next_offsets
from tests.broker.conftest import create_topics, reader_from_the_start

pytestmark = pytest.mark.timeout(60)
PERIOD = 10.0
GROUP = "janitor-test-processors"
ROTATION = TopicRotation(PERIOD)
REQUESTS_SLOT = ROTATION.names(PAYMENT_REQUESTS)[1]  # written in odd periods
PARTITIONS = {spec.name: spec.partitions for spec in declared_topics()}[PAYMENT_REQUESTS]


@pytest.fixture(scope="module")
async def janitor(bootstrap: str) -> TopicJanitor:
    for name in rotated_topics():
        await create_topics(bootstrap, ROTATION.names(name), PARTITIONS)
    await create_topics(bootstrap, ROTATION.names(reply_topic("i1")), 1)
    return TopicJanitor(bootstrap, ROTATION, GROUP, lambda: ["i1"], Log(OutputSink(io.StringIO())))


async def fill(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        futures = [
            await producer.send(topic, b"%d" % n, partition=n % PARTITIONS) for n in range(count)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consume_and_commit(bootstrap: str, topic: str, partitions: int, count: int) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=10,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        seen = 0
        async with asyncio.timeout(10):
            while seen < count:
                seen += sum(len(r) for r in (await consumer.getmany(timeout_ms=100)).values())
        await consumer.commit()
    finally:
        await consumer.stop()


async def remaining(bootstrap: str, topic: str, partitions: int) -> int:
    async with reader_from_the_start(bootstrap, topic, partitions) as reader:
        count = 0
        for _ in range(5):
            count += sum(len(r) for r in (await reader.getmany(timeout_ms=100)).values())
        return count


def idle_for(seconds: float, period: int = 100) -> float:
    """A time at which slot 1 of 2 has been idle for `seconds` (`period` must be even)."""
    return period * PERIOD + seconds  # an even period is slot 0's: slot 1 went idle as it began


async def test_an_idle_slot_is_kept_until_its_records_are_committed(
    bootstrap: str, janitor: TopicJanitor
) -> None:
    await fill(bootstrap, REQUESTS_SLOT, 40)
    ends = await next_offsets(bootstrap, REQUESTS_SLOT, PARTITIONS)

    await janitor.sweep(idle_for(REQUEST_QUIET_S + 1))
    assert await remaining(bootstrap, REQUESTS_SLOT, PARTITIONS) == 40, "nothing consumed yet"

    await consume_and_commit(bootstrap, REQUESTS_SLOT, PARTITIONS, 40)
    await janitor.sweep(idle_for(REQUEST_QUIET_S - 1))
    assert await remaining(bootstrap, REQUESTS_SLOT, PARTITIONS) == 40, "too soon after writing"

    await janitor.sweep(idle_for(REQUEST_QUIET_S + 1))
    assert await remaining(bootstrap, REQUESTS_SLOT, PARTITIONS) == 0
    assert await next_offsets(bootstrap, REQUESTS_SLOT, PARTITIONS) == ends


async def test_a_commit_beyond_the_log_end_is_not_taken_for_consumed(
    bootstrap: str, janitor: TopicJanitor
) -> None:
    # What a worker of a broker that lost its data leaves behind: offsets of another log.
    slot = REQUESTS_SLOT
    await fill(bootstrap, slot, 16)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP)
    await consumer.start()
    try:
        tps = [TopicPartition(slot, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.commit({tp: 6450 for tp in tps})
    finally:
        await consumer.stop()

    await janitor.sweep(idle_for(REQUEST_QUIET_S + 1, period=300))

    assert await remaining(bootstrap, slot, PARTITIONS) == 16


async def test_the_written_slot_is_never_emptied(bootstrap: str, janitor: TopicJanitor) -> None:
    current = ROTATION.names(PAYMENT_REQUESTS)[0]  # slot 0 is written in period 100
    await fill(bootstrap, current, 16)
    await consume_and_commit(bootstrap, current, PARTITIONS, 16)

    await janitor.sweep(idle_for(REQUEST_QUIET_S + 1))

    assert await remaining(bootstrap, current, PARTITIONS) == 16


async def test_a_reply_slot_is_emptied_once_no_request_can_await_it(
    bootstrap: str, janitor: TopicJanitor
) -> None:
    slot = ROTATION.names(reply_topic("i1"))[1]
    await fill_replies(bootstrap, slot, 5)
    quiet = (REPLY_SLOTS - 1) * PERIOD - REPLY_WINDOW_S
    # slot 1 of 5 was written in period 101, so at 102 * PERIOD + t it has been idle t s
    await janitor.sweep(102 * PERIOD + quiet - 5)
    assert await remaining(bootstrap, slot, 1) == 5

    await janitor.sweep(102 * PERIOD + quiet + 0.5)
    assert await remaining(bootstrap, slot, 1) == 0


async def fill_replies(bootstrap: str, topic: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(topic, b"%d" % n, partition=0)
    finally:
        await producer.stop()


async def test_an_emptying_cut_short_is_finished_with_the_offsets_kept(
    bootstrap: str, janitor: TopicJanitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    slot = ROTATION.names(MERCH_PAYMENT_EVENTS)[1]
    await fill(bootstrap, slot, 24)
    await consume_and_commit(bootstrap, slot, PARTITIONS, 24)
    ends = await next_offsets(bootstrap, slot, PARTITIONS)

    async def delete_then_fail(bootstrap_servers: str, topic: str, *args: object) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
        raise ConnectionError("the broker went away mid-way")

    monkeypatch.setattr(topic_janitor, "truncate_topic", delete_then_fail)
    with pytest.raises(ConnectionError):
        await janitor.sweep(idle_for(REQUEST_QUIET_S + 1, period=200))
    monkeypatch.undo()

    await janitor.sweep(idle_for(REQUEST_QUIET_S + 1.5, period=200))

    assert await next_offsets(bootstrap, slot, PARTITIONS) == ends
    assert await remaining(bootstrap, slot, PARTITIONS) == 0
