"""How long a meter start takes, from the ride event to setcar, with the sandbox answering at once.

`python -m bench.meter_start_latency [--rides 200] [--concurrency 1 8]`: uses the
system at --ingress (its internal listener) / --sandbox (a running `make run`), or
starts one on free ports when nothing answers there. Each ride: a driver and an order in the
sandbox, then `ride_started` over POST /internal/v1/ride-events; the clock stops
when the sandbox's driver-orders-builder receives `is_external_meter_run=true`
(the journal's arrival time; both clocks are this machine's). The journal is
reset first, so run it on a system nobody else is using.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import httpx

import local_defaults
from bench.scenarios import INTERNAL_KEY


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _start_local_system(stack: ExitStack) -> tuple[str, str]:
    from launcher.stack import LocalStack, StackConfig

    run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="meter-bench-")))
    output = stack.enter_context((run_dir / "system.log").open("a", buffering=1))
    local = stack.enter_context(LocalStack(StackConfig.for_tests(run_dir, output=output)))
    local.wait_until_healthy(120)
    return local.internal_urls[0], local.sandbox_url


async def _one_ride(
    http: httpx.AsyncClient, ingress: str, sandbox: str, tag: str
) -> tuple[str, float]:
    order_id, park, driver = f"bench-{tag}", f"bp-{tag}", f"bd-{tag}"
    await http.post(
        f"{sandbox}/_sandbox/drivers",
        json={
            "park_id": park,
            "driver_profile_id": driver,
            "id_number": f"ID-{tag}",
            "car_id": "car",
            "permit_number": f"P-{tag}",
        },
    )
    await http.post(
        f"{sandbox}/_sandbox/orders",
        json={"order_id": order_id, "park_id": park, "driver_profile_id": driver, "car_id": "car"},
    )
    sent_at = time.time()
    response = await http.post(
        f"{ingress}/internal/v1/ride-events",
        headers={"Authorization": f"Bearer {INTERNAL_KEY}"},
        json={
            "event_id": str(uuid.uuid4()),
            "event": "ride_started",
            "order_id": order_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "country": "ISR",
            "park_id": park,
            "driver_profile_id": driver,
            "price": 48.5,
            "currency": "ILS",
        },
    )
    response.raise_for_status()
    return order_id, sent_at


async def _setcar_times(
    http: httpx.AsyncClient, sandbox: str, orders: set[str]
) -> dict[str, float]:
    deadline = time.monotonic() + 60
    while True:
        calls = (
            await http.get(
                f"{sandbox}/_sandbox/journal", params={"service": "driver-orders-builder"}
            )
        ).json()["calls"]
        seen = {
            c["body"]["order_id"]: datetime.fromisoformat(
                c["at"].replace("Z", "+00:00")
            ).timestamp()
            for c in calls
            if c["body"]["order_id"] in orders and c["body"]["changes"].get("is_external_meter_run")
        }
        if len(seen) == len(orders) or time.monotonic() > deadline:
            return seen
        await asyncio.sleep(0.05)


async def measure(
    ingress: str, sandbox: str, rides: int, concurrency: int
) -> tuple[list[float], float]:
    """Milliseconds from ride event to setcar, one per ride; and starts per second."""
    async with httpx.AsyncClient(timeout=10) as http:
        await http.post(f"{sandbox}/_sandbox/reset")
        sent: dict[str, float] = {}
        gate = asyncio.Semaphore(concurrency)
        run = uuid.uuid4().hex[:6]

        async def ride(n: int) -> None:
            async with gate:
                order_id, sent_at = await _one_ride(http, ingress, sandbox, f"{run}-{n}")
                sent[order_id] = sent_at
                # At concurrency 1, wait for this start to end before the next one.
                if concurrency == 1:
                    await _setcar_times(http, sandbox, {order_id})

        await asyncio.gather(*(ride(n) for n in range(rides)))
        setcar = await _setcar_times(http, sandbox, set(sent))
    missing = len(sent) - len(setcar)
    if missing:
        print(f"  {missing} starts reached no setcar within 60 s")
    span = max(setcar.values()) - min(sent.values())
    return sorted((setcar[o] - sent[o]) * 1000 for o in setcar), len(setcar) / span


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ingress", default="http://127.0.0.1:8090")
    parser.add_argument("--sandbox", default=local_defaults.SANDBOX_URL)
    parser.add_argument("--rides", type=int, default=200)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    with ExitStack() as stack:
        ingress, sandbox = args.ingress, args.sandbox
        if not _answers(ingress):
            print("nothing answers at --ingress: starting a system on free ports")
            ingress, sandbox = _start_local_system(stack)
        asyncio.run(measure(ingress, sandbox, 10, 1))  # warm-up
        columns = ("p50 ms", "p90 ms", "p99 ms", "max ms", "starts/s")
        print(f"{'concurrency':>11} {'rides':>6} " + " ".join(f"{c:>8}" for c in columns))
        for concurrency in args.concurrency:
            latencies, rate = asyncio.run(measure(ingress, sandbox, args.rides, concurrency))
            print(
                f"{concurrency:>11} {len(latencies):>6} {statistics.median(latencies):>8.1f} "
                f"{_percentile(latencies, 0.9):>8.1f} {_percentile(latencies, 0.99):>8.1f} "
                f"{latencies[-1]:>8.1f} {rate:>8.1f}"
            )


if __name__ == "__main__":
    main()
