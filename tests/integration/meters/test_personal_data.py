"""The driver's identity document number reaches the meter vendor and nothing else
(contract 3.4): after starts that succeed and starts that fail at every step, no log
line, no message on any topic, no table and no metrics page holds any planted number."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.integration.conftest import RunningStack, wait_for
from tests.integration.meters.conftest import Meters, Ride

# What the history of an order says once its ride_cancelled was handled.
CANCEL_HANDLED = {
    "cancelled",
    "ride_cancelled_without_running_meter",
    "meter_cancel_refused",
    "meter_cancel_failed",
}

# (service, operation) made to fail for each start; None = a start that succeeds.
SCENARIOS: list[tuple[str, str] | None] = [
    None,
    ("monitex", "/v0.2/rides"),
    ("order-core", "set-fields"),
    ("driver-orders-builder", "*"),
    ("client-notify", "*"),
    ("personal", "*"),
    ("fleet-vehicles", "*"),
    ("order-core", "get-fields"),
]


async def every_topic_message(bootstrap_servers: str) -> list[bytes]:
    """Key, value and headers of every message on every topic, as bytes."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in await consumer.topics()
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[bytes] = []

        async def unread() -> list[TopicPartition]:
            return [tp for tp in partitions if await consumer.position(tp) < ends[tp]]

        async with asyncio.timeout(60):
            while await unread():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        found.append(record.key or b"")
                        found.append(record.value or b"")
                        found.extend(value for _, value in record.headers)
        return found
    finally:
        await consumer.stop()


async def every_table_row(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        rows: list[str] = []
        for table in tables:
            name = f'"{table["table_schema"]}"."{table["table_name"]}"'
            rows.extend(r[0] for r in await conn.fetch(f"SELECT t::text FROM {name} t"))
        return rows
    finally:
        await conn.close()


async def test_identity_numbers_never_leave_the_vendor_call(
    meters: Meters, stack: RunningStack
) -> None:
    numbers: list[str] = []
    orders: list[str] = []
    cancelled: list[Ride] = []
    for scenario in SCENARIOS:
        number = f"IDN{uuid.uuid4().int % 10**12:012d}Q"
        numbers.append(number)
        ride = meters.new_ride(id_number=number)
        orders.append(ride.order_id)
        if scenario is not None:
            meters.fault(*scenario)
        await asyncio.to_thread(meters.start, ride)
        if scenario is None:
            assert meters.finish(ride).status_code == 200
        else:
            meters.ride_event(ride, "ride_cancelled")
            cancelled.append(ride)
        meters.sandbox.delete("/_sandbox/faults").raise_for_status()

    # The numbers did travel, to the vendor's start and nowhere else the sandbox saw.
    journal = meters.sandbox.get("/_sandbox/journal").json()["calls"]
    carrying = [c for c in journal if any(n in str(c["body"]) for n in numbers)]
    assert carrying, "no start reached the vendor with a number"
    assert {(c["service"], c["path"]) for c in carrying} == {("monitex", "/v0.2/rides")}

    await asyncio.to_thread(every_line_written, meters, stack, cancelled)
    logs = stack.log_text()
    messages = b"\n".join(await every_topic_message(stack.bootstrap_servers))
    tables = "\n".join(await every_table_row(stack.database_url))
    async with httpx.AsyncClient(timeout=10) as client:
        pages = [
            (await client.get(f"{url}/metrics")).text
            for url in [*stack.internal_urls, *stack.worker_urls]
        ]
    # The search looked where these rides left traces.
    assert "meter_start_failed" in logs
    assert all(order.encode() in messages and order in tables for order in orders)
    for number in numbers:
        assert number not in logs
        assert number.encode() not in messages
        assert number not in tables
        for page in pages:
            assert number not in page


def every_line_written(meters: Meters, stack: RunningStack, cancelled: list[Ride]) -> None:
    """Wait until the worker has logged everything these rides made it log: every cancel
    handled, then a line of a later event in the file (one worker, one ordered stdout)."""
    wait_for(
        lambda: all(CANCEL_HANDLED & set(meters.history(ride)) for ride in cancelled),
        timeout=20,
        what="every ride_cancelled handled",
    )
    marker = Ride(f"o-marker-{uuid.uuid4().hex[:10]}", "park-marker", "drv-marker", "", "", "")
    meters.ride_event(marker, country="RUS")  # skipped at once, and logged
    wait_for(
        lambda: any(
            marker.order_id in line and "meter_start_skipped" in line
            for line in stack.log_text().splitlines()
        ),
        timeout=20,
        what="the worker's line for a later event in the log",
    )
