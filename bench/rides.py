"""Meter rides started before a finish-ride cell, so that every finish reaches Monitex.

A repeated finish is answered from the processor's record without calling the meter,
so a cell that finished the same rides over and over would not measure Monitex at
all. Each cell gets its own rides (`bench-finish-<prefix>-<n>`, n = 1..count), started
with the peers answering at once, in batches small enough that no start waits past
METER_START_MAX_AGE behind the others.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.scenarios import (
    BENCH_CAR,
    BENCH_DRIVER,
    BENCH_PARK,
    INTERNAL_KEY,
    finish_order_id,
    ride_event,
)
from bench.target import Target

BATCH = 256
IN_FLIGHT = 32
BATCH_WITHIN_S = 90.0
# A meter start that is through within this long after its event means no ride events
# are queued ahead of it (e.g. the tens of thousands the ride-started cells publish).
CAUGHT_UP_WITHIN_S = 5.0
CATCH_UP_WITHIN_S = 900.0


async def create_and_start(http: httpx.AsyncClient, target: Target, order_id: str) -> None:
    (
        await http.post(
            f"{target.sandbox}/_sandbox/orders",
            json={
                "order_id": order_id,
                "park_id": BENCH_PARK,
                "driver_profile_id": BENCH_DRIVER,
                "car_id": BENCH_CAR,
                "country": "ISR",
                "price": 48.5,
                "meter_price": 52.3,
            },
        )
    ).raise_for_status()
    (
        await http.post(
            f"{target.internal}/internal/v1/ride-events",
            json=ride_event("ride_started", order_id, f"start-{order_id}-{uuid.uuid4().hex[:6]}"),
            headers={"Authorization": f"Bearer {INTERNAL_KEY}"},
        )
    ).raise_for_status()


async def is_started(http: httpx.AsyncClient, target: Target, order_id: str) -> bool:
    state = (await http.get(f"{target.sandbox}/_sandbox/orders/{order_id}")).json()
    return bool(state.get("document", {}).get("external_meter_ride_id"))


async def _start_batch(http: httpx.AsyncClient, target: Target, orders: list[str]) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def start(order_id: str) -> None:
        async with gate:
            await create_and_start(http, target, order_id)

    await asyncio.gather(*(start(order_id) for order_id in orders))
    deadline = time.monotonic() + BATCH_WITHIN_S
    waiting = list(orders)
    while waiting:
        done = await asyncio.gather(*(is_started(http, target, o) for o in waiting[:IN_FLIGHT]))
        waiting = [o for o, ok in zip(waiting[:IN_FLIGHT], done, strict=True) if not ok] + (
            waiting[IN_FLIGHT:]
        )
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(waiting)} meter rides for the finish-ride cell did not start "
                f"within {BATCH_WITHIN_S:.0f} s (first: {waiting[0]})"
            )
        if waiting and not any(done):
            await asyncio.sleep(0.1)


async def _start_rides(target: Target, prefix: str, count: int) -> None:
    orders = [finish_order_id(prefix, n) for n in range(1, count + 1)]
    limits = httpx.Limits(max_connections=IN_FLIGHT * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        for first in range(0, count, BATCH):
            await _start_batch(http, target, orders[first : first + BATCH])


async def _caught_up(target: Target) -> float:
    """Wait until a fresh meter start gets through at once; the seconds it took."""
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() - began < CATCH_UP_WITHIN_S:
            order_id = f"bench-catch-up-{uuid.uuid4().hex[:12]}"
            await create_and_start(http, target, order_id)
            sent = time.monotonic()
            while time.monotonic() - sent < CAUGHT_UP_WITHIN_S:
                if await is_started(http, target, order_id):
                    return time.monotonic() - began
                await asyncio.sleep(0.1)
    raise RuntimeError(f"ride events still queued after {CATCH_UP_WITHIN_S:.0f} s")


def wait_for_ride_events(target: Target) -> None:
    """Return once ride events queued ahead (by earlier cells) have been handled."""
    took = asyncio.run(_caught_up(target))
    if took > CAUGHT_UP_WITHIN_S:
        print(f"  waited {took:.0f} s for queued ride events to be handled")


def start_finish_rides(target: Target, prefix: str, count: int) -> float:
    """Start `count` meter rides named for `prefix`; the seconds it took."""
    wait_for_ride_events(target)
    began = time.monotonic()
    asyncio.run(_start_rides(target, prefix, count))
    return time.monotonic() - began
