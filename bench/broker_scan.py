"""What a fetch costs the embedded broker as a topic fills up (standalone, no system needed).

Starts its own Tansu on a free port, fills a topic with N one-record batches spread over P
partitions, then reads a steady stream from the end of it and reports the broker's CPU.
Usage: `python -m bench.broker_scan [--rate 200] [--seconds 10]`.

Tansu's memory storage keeps each produced batch as one object and, on every fetch that
returns data, lists all the batch objects of that partition; this shows how that cost grows
and how spreading the same records over more partitions or deleting a topic bounds it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import time
from dataclasses import dataclass

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from launcher.broker import EmbeddedBroker
from launcher.ports import free_port

FETCH_WAIT_MS = 10
RECORD = b"x" * 200


@dataclass(frozen=True)
class Case:
    partitions: int
    prefilled: int


def start_broker(port: int) -> subprocess.Popen[bytes]:
    """The launcher's embedded broker, on its own port."""
    spec = EmbeddedBroker("127.0.0.1", port).child_spec()
    return subprocess.Popen(
        spec.command, env=spec.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    for _ in range(50):
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        try:
            await admin.start()
            await admin.create_topics([NewTopic(name, partitions, 1)])
            return
        except Exception:
            await asyncio.sleep(0.2)
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
    raise RuntimeError("broker did not come up")


async def delete_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def prefill(bootstrap: str, topic: str, partitions: int, records: int) -> None:
    # One record per batch, like the system's request/reply traffic.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=len(RECORD) + 100)
    await producer.start()
    try:
        pending = []
        for i in range(records):
            pending.append(await producer.send(topic, RECORD, partition=i % partitions))
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def steady_read(
    bootstrap: str, topic: str, partitions: int, rate: int, seconds: float, broker: psutil.Process
) -> tuple[float, int]:
    """Produce `rate` records/s one at a time while a consumer reads them; broker CPU %."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, fetch_max_wait_ms=FETCH_WAIT_MS, enable_auto_commit=False
    )
    await consumer.start()
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    await consumer.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    received = 0

    async def read() -> None:
        nonlocal received
        while True:
            batch = await consumer.getmany(timeout_ms=100)
            received += sum(len(records) for records in batch.values())

    reader = asyncio.create_task(read())
    await asyncio.sleep(1.0)
    broker.cpu_percent(None)
    started = time.monotonic()
    sent = 0
    while (elapsed := time.monotonic() - started) < seconds:
        if sent < elapsed * rate:
            await producer.send(topic, RECORD, partition=sent % partitions)
            sent += 1
        else:
            await asyncio.sleep(0.002)
    cpu = broker.cpu_percent(None)
    reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader
    await producer.stop()
    await consumer.stop()
    return cpu, received


async def measure(case: Case, rate: int, seconds: float) -> float:
    port = free_port()
    process = start_broker(port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        await create_topic(bootstrap, "scan", case.partitions)
        await prefill(bootstrap, "scan", case.partitions, case.prefilled)
        cpu, _ = await steady_read(
            bootstrap, "scan", case.partitions, rate, seconds, psutil.Process(process.pid)
        )
        return cpu
    finally:
        process.terminate()
        process.wait(10)


async def idle_cost(partitions: int, seconds: float) -> float:
    port = free_port()
    process = start_broker(port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        await create_topic(bootstrap, "scan", partitions)
        cpu, _ = await steady_read(
            bootstrap, "scan", partitions, 0, seconds, psutil.Process(process.pid)
        )
        return cpu
    finally:
        process.terminate()
        process.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"steady read at {args.rate} records/s, fetch wait {FETCH_WAIT_MS} ms, broker CPU %")
    print("partitions  prefilled  broker CPU %")
    for case in (
        Case(8, 0),
        Case(8, 40_000),
        Case(8, 80_000),
        Case(64, 0),
        Case(64, 80_000),
    ):
        cpu = await measure(case, args.rate, args.seconds)
        print(f"{case.partitions:>10} {case.prefilled:>10} {cpu:>13.0f}", flush=True)
    print("\nidle consumer (no records), broker CPU %")
    for partitions in (8, 64, 256):
        print(f"{partitions:>10} {await idle_cost(partitions, args.seconds):>13.0f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
