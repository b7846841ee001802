"""A standalone embedded broker for the tests of this package (one per module)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from launcher.broker import EmbeddedBroker


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    broker = EmbeddedBroker("127.0.0.1", port)
    process = subprocess.Popen(
        broker.child_spec().command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield broker.bootstrap_servers
    finally:
        process.terminate()
        process.wait(10)


async def create_topics(bootstrap: str, names: list[str], partitions: int) -> None:
    """Create the topics once the broker answers (it takes a moment to start)."""
    for _ in range(100):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
            return
        except Exception:
            await asyncio.sleep(0.1)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
    raise RuntimeError("could not create topics")


@contextlib.asynccontextmanager
async def reader_from_the_start(
    bootstrap: str, topic: str, partitions: int
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer of every partition of `topic`, each from its first record (no group)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=10)
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        yield reader
    finally:
        await reader.stop()
