"""A Monitex call that hangs holds up only its own order; one order's events stay in order
(contract section 4). A stack of its own: a Monitex timeout long enough to watch the
other rides start while one hangs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from aiokafka import AIOKafkaProducer

from messaging import headers as h
from messaging.topics import RIDE_EVENTS
from tests.integration.conftest import RunningStack, wait_for
from tests.integration.meters.conftest import DONE_STATES, Meters, Ride, ride_event_body
from tests.integration.own_stack import own_stack

MONITEX_TIMEOUT_S = 6.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(
        tmp_path_factory.mktemp("meters-concurrency"),
        env={
            "MONITEX_TIMEOUT_S": str(MONITEX_TIMEOUT_S),
            "SANDBOX_FAULT_TIMEOUT_SECONDS": "10",
            "SANDBOX_FAULT_SLOW_SECONDS": "1",
        },
    ) as running:
        yield running


def _fault(meters: Meters, mode: str, times: int | None) -> None:
    meters.sandbox.post(
        "/_sandbox/faults",
        json={"service": "monitex", "operation": "/v0.2/rides", "mode": mode, "times": times},
    ).raise_for_status()


def _start_called(meters: Meters, ride: Ride) -> bool:
    return any(c["body"]["external_id"] == ride.order_id for c in meters.calls("monitex", "/rides"))


def test_a_ride_whose_meter_start_hangs_holds_up_no_other_ride(meters: Meters) -> None:
    stuck = meters.new_ride()
    others = [meters.new_ride() for _ in range(16)]  # 4 partitions: some share stuck's
    _fault(meters, "timeout", times=1)
    meters.ride_event(stuck)
    wait_for(lambda: _start_called(meters, stuck), timeout=10, what="the hanging start")

    for ride in others:
        meters.ride_event(ride)

    def all_started() -> bool:
        return all((meters.state(r) or {}).get("state") == "started" for r in others)

    wait_for(all_started, timeout=MONITEX_TIMEOUT_S - 1, what="the other meters started")
    stuck_state = meters.state(stuck)
    assert stuck_state is None or stuck_state["state"] not in DONE_STATES, stuck_state
    # The hanging one ends as the failure table says once its call times out.
    assert meters.wait_state(stuck, *DONE_STATES, timeout=15)["state"] == "failed"


def test_ride_started_then_ride_cancelled_of_one_order_end_with_the_meter_cancelled(
    meters: Meters,
) -> None:
    # A slow vendor start: a cancel taken out of order would find no meter ride to cancel.
    _fault(meters, "slow", times=None)
    pairs = [meters.new_ride() for _ in range(10)]
    others = [meters.new_ride() for _ in range(6)]

    asyncio.run(_produce_start_then_cancel(meters.stack.bootstrap_servers, pairs))
    for ride in others:
        meters.ride_event(ride)

    for ride in pairs:
        assert meters.wait_state(ride, "cancelled", "started", timeout=30)
    for ride in others:
        assert meters.wait_state(ride, *DONE_STATES, timeout=30)["state"] == "started"
    for ride in pairs:
        assert meters.wait_state(ride, "cancelled", timeout=15)["state"] == "cancelled"
        assert meters.order(ride)["meter_ride"]["status"] == "cancelled"


async def _produce_start_then_cancel(bootstrap_servers: str, rides: list[Ride]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, linger_ms=0)
    await producer.start()
    try:
        sends = []
        for ride in rides:
            for event in ("ride_started", "ride_cancelled"):
                body = ride_event_body(ride, event)
                sends.append(
                    await producer.send(
                        RIDE_EVENTS,
                        json.dumps(body).encode(),
                        key=ride.order_id.encode(),
                        headers=h.encode({h.CORRELATION_ID: uuid.uuid4().hex}),
                    )
                )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
