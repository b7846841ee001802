"""Finishing from the Pro app (contract 3.3), cancelling on ride_cancelled, and the
counting of rides in Israel. Fakes only."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from processors.meters.domain import MeterState, Money, SkipReason
from processors.meters.errors import FinishRefused, PeerRejected, PeerUnavailable
from schemas.meters import FinishRideRequest
from tests.unit.meters.conftest import DRIVER, ORDER, PARK, MakeEvent
from tests.unit.meters.fakes import VendorRide, World

DOWN = PeerUnavailable("peer", "op", "timeout")


def finish_request(
    price: str = "48.5", park: str = PARK, driver: str = DRIVER
) -> FinishRideRequest:
    return FinishRideRequest(
        order_id=ORDER, price=Decimal(price), park_id=park, driver_profile_id=driver
    )


async def refused(world: World, request: FinishRideRequest | None = None) -> str:
    with pytest.raises(FinishRefused) as caught:
        await world.finish_ride()(request or finish_request())
    return caught.value.code


@pytest.fixture
async def started(world: World, make_event: MakeEvent) -> str:
    outcome = await world.ride_events().start(make_event())
    assert outcome.meter_ride_id is not None
    world.meter.meter_price = Decimal("52.30")
    return outcome.meter_ride_id


async def test_finish_answers_the_meters_price(world: World, started: str) -> None:
    answer = await world.finish_ride()(finish_request())

    assert (answer.order_id, answer.price, answer.currency, answer.meter_ride_id) == (
        ORDER,
        Decimal("52.30"),
        "ILS",
        started,
    )
    assert answer.model_dump(mode="json")["price"] == 52.3
    record = world.states.records[ORDER]
    assert (record.state, record.meter_price) == (
        MeterState.FINISHED,
        Money(Decimal("52.30"), "ILS"),
    )


async def test_repeated_finish_returns_the_same_answer(world: World, started: str) -> None:
    finish = world.finish_ride()
    first = await finish(finish_request())
    world.meter.fail_finish = DOWN  # the vendor being down later changes nothing

    again = await finish(finish_request(price="99"))

    assert again == first
    assert world.meter.calls.count(("finish", started)) == 1


async def test_finish_by_another_driver_is_refused_without_a_vendor_call(
    world: World, started: str
) -> None:
    code = await refused(world, finish_request(driver="d-other"))

    assert code == "not_order_performer"
    assert ("finish", started) not in world.meter.calls


async def test_finish_without_a_meter_ride_is_not_found(world: World) -> None:
    assert await refused(world) == "meter_ride_not_found"
    assert world.meter.calls == []


async def test_finish_of_an_unknown_order_is_not_found(world: World) -> None:
    request = FinishRideRequest(
        order_id="o-unknown", price=Decimal(1), park_id=PARK, driver_profile_id=DRIVER
    )
    assert await refused(world, request) == "meter_ride_not_found"


async def test_finish_when_the_vendor_fails_is_meter_unavailable(
    world: World, started: str
) -> None:
    world.meter.fail_finish = DOWN
    assert await refused(world) == "meter_unavailable"
    world.meter.fail_finish = PeerRejected("monitex", "finish_ride", "unauthorized")
    assert await refused(world) == "meter_unavailable"


async def test_finish_when_order_core_is_down_is_order_core_unavailable(
    world: World, started: str
) -> None:
    world.orders.fail_read = DOWN
    assert await refused(world) == "order_core_unavailable"
    assert ("finish", started) not in world.meter.calls


async def test_finish_of_a_cancelled_meter_ride_is_not_found(
    world: World, started: str, make_event: MakeEvent
) -> None:
    await world.ride_events()(make_event("ride_cancelled"))
    assert await refused(world) == "meter_ride_not_found"


async def test_finish_that_overtakes_its_start_waits_for_it(
    world: World, make_event: MakeEvent
) -> None:
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")  # the start is in flight

    async def start_completes_a_bit_later() -> None:
        await asyncio.sleep(0.05)
        await world.states.mark_started(ORDER, "mtx-late", Money(Decimal("48.5"), "ILS"))
        world.meter.rides["mtx-late"] = VendorRide(
            "mtx-late", ORDER, "P", "N", Money(Decimal("48.5"), "ILS")
        )

    asyncio.get_running_loop().create_task(start_completes_a_bit_later())
    answer = await world.finish_ride(wait_for_start_s=2)(finish_request())

    assert answer.meter_ride_id == "mtx-late"


async def test_finish_gives_up_waiting_for_a_stuck_start(world: World) -> None:
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")

    started = asyncio.get_running_loop().time()
    code = await refused(world)

    assert code == "meter_ride_not_found"
    assert asyncio.get_running_loop().time() - started < 1.0


async def test_ride_cancelled_cancels_the_running_meter_ride(
    world: World, started: str, make_event: MakeEvent
) -> None:
    await world.ride_events()(make_event("ride_cancelled"))

    assert world.meter.rides[started].status == "cancelled"
    assert world.states.records[ORDER].state is MeterState.CANCELLED


async def test_repeated_cancel_calls_the_vendor_once(
    world: World, started: str, make_event: MakeEvent
) -> None:
    events = world.ride_events()
    await events(make_event("ride_cancelled"))
    await events(make_event("ride_cancelled"))

    assert world.meter.calls.count(("cancel", started)) == 1


async def test_cancel_that_fails_on_the_vendor_keeps_the_ride_started(
    world: World, started: str, make_event: MakeEvent
) -> None:
    world.meter.fail_cancel = DOWN

    outcome = await world.ride_events().cancel(
        make_event("ride_cancelled"), world.states.records[ORDER]
    )

    assert outcome == "failed"
    assert world.states.records[ORDER].state is MeterState.STARTED
    assert "meter_cancel_failed" in world.states.whats(ORDER)


async def test_cancel_before_start_makes_a_late_start_do_nothing(
    world: World, make_event: MakeEvent
) -> None:
    events = world.ride_events()
    await events(make_event("ride_cancelled"))

    outcome = await events.start(make_event())

    assert outcome.skipped is SkipReason.ALREADY_HANDLED
    assert world.meter.calls == []


async def test_cancel_of_an_order_whose_start_failed_without_a_ride_changes_nothing(
    world: World, make_event: MakeEvent
) -> None:
    world.vehicles.fail = DOWN
    events = world.ride_events()
    await events.start(make_event())

    await events(make_event("ride_cancelled"))

    assert world.meter.calls == []
    assert world.states.records[ORDER].state is MeterState.FAILED


def _count(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_rides_in_israel_are_counted_with_and_without_the_meter(
    world: World, started: str, make_event: MakeEvent
) -> None:
    with_meter = {"smart_meter": "true", "success": "true"}
    without = {"smart_meter": "false", "success": "true"}
    before = (
        _count("israel_rides_finished_total", with_meter),
        _count("israel_rides_finished_total", without),
    )
    events = world.ride_events()
    await world.finish_ride()(finish_request())
    await events(make_event("ride_finished"))
    await events(make_event("ride_finished", order_id="o-no-meter"))
    await events(make_event("ride_finished", order_id="o-abroad", country="RUS"))

    after = (
        _count("israel_rides_finished_total", with_meter),
        _count("israel_rides_finished_total", without),
    )
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1)
