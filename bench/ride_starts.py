"""A ride-start cell: meter starts per second with a fixed number of starts in flight.

The ride event is answered 202 once published, so wrk cannot see the meter start
behind it. Here each of `in_flight` slots posts a ride event for a new order and
waits until the sandbox's order-core holds the started meter ride, then starts the
next; the cell counts the starts finished in `seconds`. Latency is from the event to
the moment a poll saw the ride (polls every 50 ms, less often with over 25 slots:
coarse, but the same for the instant and the slow cell).
"""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.rides import IN_FLIGHT, create_and_start, is_started
from bench.target import Target
from bench.wrk import LoadResult

RIDE_START = "ride-start"  # the cell's name beside the wrk scenarios
# Each slot polls its order every POLL_S, or less often with many slots, so that the
# sandbox answers at most ~500 polls a second and does not take the worker's CPU.
POLL_S = 0.05
MAX_POLLS_PER_S = 500


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _cell(target: Target, prefix: str, in_flight: int, seconds: float) -> LoadResult:
    limits = httpx.Limits(max_connections=IN_FLIGHT * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        gate = asyncio.Semaphore(IN_FLIGHT)  # HTTP calls at once, whatever `in_flight`
        latencies: list[float] = []
        errors = 0
        counter = 0
        began = time.monotonic()
        end = began + seconds
        poll_s = max(POLL_S, in_flight / MAX_POLLS_PER_S)

        async def slot() -> None:
            nonlocal counter, errors
            while time.monotonic() < end:
                counter += 1
                order_id = f"bench-ride-start-{prefix}-{counter}"
                try:
                    async with gate:
                        await create_and_start(http, target, order_id)
                    sent = time.monotonic()
                    while True:
                        async with gate:
                            if await is_started(http, target, order_id):
                                break
                        if time.monotonic() > end + 30:
                            raise TimeoutError(order_id)
                        await asyncio.sleep(poll_s)
                except (httpx.HTTPError, TimeoutError):
                    errors += 1
                    continue
                if time.monotonic() <= end:
                    latencies.append((time.monotonic() - sent) * 1000)

        await asyncio.gather(*(slot() for _ in range(in_flight)))
    return LoadResult(
        concurrency=in_flight,
        requests=len(latencies),
        seconds=seconds,
        errors=errors,
        p50_ms=round(_percentile(latencies, 0.5), 1),
        p95_ms=round(_percentile(latencies, 0.95), 1),
        p99_ms=round(_percentile(latencies, 0.99), 1),
        max_ms=round(max(latencies, default=0.0), 1),
    )


def measure_ride_starts(target: Target, prefix: str, in_flight: int, seconds: float) -> LoadResult:
    """Meter starts finished in `seconds` with `in_flight` at a time (requests = starts)."""
    return asyncio.run(_cell(target, prefix, in_flight, seconds))
