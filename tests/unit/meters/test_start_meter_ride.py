"""Starting the meter (contract 3.2): the happy path, each row of the failure table,
repeats and resumes, skips. Fakes only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from processors.meters.domain import MeterState, Money, Rollout, SkipReason, StartStep
from processors.meters.errors import PeerRejected, PeerUnavailable
from processors.meters.ports import IdentityNumber, StartRideCommand
from tests.unit.meters.conftest import DRIVER, ID_NUMBER, ORDER, PARK, PERMIT, MakeEvent
from tests.unit.meters.fakes import World

DOWN = PeerUnavailable("peer", "op", "timeout")


def _assert_fell_back(world: World) -> None:
    """The failure table's fallback: setcar false, then a push to the driver."""
    assert world.driver_orders.changes == [(ORDER, False)]
    assert world.notifier.pushes == [(PARK, DRIVER, ORDER)]


def _assert_failed_at(world: World, step: StartStep, meter_ride_id: str | None) -> None:
    record = world.states.records[ORDER]
    assert (record.state, record.failed_step, record.meter_ride_id) == (
        MeterState.FAILED,
        step,
        meter_ride_id,
    )


async def test_started_meter_has_permit_number_and_price_and_is_recorded_everywhere(
    world: World, make_event: MakeEvent
) -> None:
    outcome = await world.ride_events().start(make_event())

    assert outcome.started
    [ride] = world.meter.started_rides()
    assert (ride.external_id, ride.permit_number, ride.driver_id_number) == (
        ORDER,
        PERMIT,
        ID_NUMBER,
    )
    assert ride.price == Money(Decimal("48.5"), "ILS")
    assert world.orders.orders[ORDER].external_meter_ride_id == ride.ride_id
    assert world.driver_orders.changes == [(ORDER, True)]
    assert world.notifier.pushes == []
    record = world.states.records[ORDER]
    assert (record.state, record.meter_ride_id) == (MeterState.STARTED, ride.ride_id)


async def test_meter_vendor_failure_stops_leaves_order_alone_and_falls_back(
    world: World, make_event: MakeEvent
) -> None:
    world.meter.fail_start = PeerRejected("monitex", "start_ride", "permit_mismatch")

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.METER_START
    assert world.meter.calls == [("start", ORDER)]  # no retry against the vendor
    assert world.orders.writes == []
    _assert_fell_back(world)
    _assert_failed_at(world, StartStep.METER_START, meter_ride_id=None)
    assert world.states.records[ORDER].failure_reason == "permit_mismatch"


async def test_order_core_read_failure_stops_without_setcar_or_push(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.fail_read = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.ORDER_CORE_READ
    assert world.meter.calls == []
    assert world.personal.reads == 0
    assert world.driver_orders.changes == []
    assert world.notifier.pushes == []
    assert world.states.records[ORDER].failed_step is StartStep.ORDER_CORE_READ


async def test_order_core_write_failure_cancels_the_started_meter_ride_and_falls_back(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.fail_write = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.ORDER_CORE_WRITE
    [ride] = world.meter.started_rides()
    assert ride.status == "cancelled"
    assert world.meter.calls == [("start", ORDER), ("cancel", ride.ride_id)]
    _assert_fell_back(world)
    _assert_failed_at(world, StartStep.ORDER_CORE_WRITE, ride.ride_id)


async def test_order_core_write_failure_with_cancel_failing_still_falls_back(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.fail_write = DOWN
    world.meter.fail_cancel = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.ORDER_CORE_WRITE
    _assert_fell_back(world)
    [(_, _, detail)] = [h for h in world.states.history if h[1] == "start_failure_handled"]
    assert detail == {
        "reason": "timeout",
        "meter_ride_cancelled": False,
        "setcar_false": True,
        "push_sent": True,
    }


@pytest.mark.parametrize(
    ("peer", "step", "personal_reads"),
    [
        ("vehicles", StartStep.FLEET_VEHICLES, 0),
        ("identity_docs", StartStep.DRIVER_PROFILES, 0),
        ("personal", StartStep.PERSONAL, 1),
    ],
)
async def test_a_failing_lookup_stops_before_the_vendor_and_falls_back(
    world: World, make_event: MakeEvent, peer: str, step: StartStep, personal_reads: int
) -> None:
    getattr(world, peer).fail = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is step
    assert world.meter.calls == []
    assert world.personal.reads == personal_reads  # later lookups are not made
    _assert_fell_back(world)


async def test_order_without_car_fails_at_fleet_vehicles(
    world: World, make_event: MakeEvent
) -> None:
    world.add_order("o-nocar", PARK, DRIVER, None)

    outcome = await world.ride_events().start(make_event(order_id="o-nocar"))

    assert outcome.failed_step is StartStep.FLEET_VEHICLES
    assert world.states.records["o-nocar"].failure_reason == "no_car_on_order"


async def test_driver_orders_builder_failure_stops_with_nothing_else(
    world: World, make_event: MakeEvent
) -> None:
    world.driver_orders.fail = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.DRIVER_ORDERS_BUILDER
    [ride] = world.meter.started_rides()
    assert ride.status == "running"  # not cancelled: the order knows its ride
    assert world.orders.orders[ORDER].external_meter_ride_id == ride.ride_id
    assert world.notifier.pushes == []
    _assert_failed_at(world, StartStep.DRIVER_ORDERS_BUILDER, ride.ride_id)


async def test_client_notify_failure_only_loses_the_push(
    world: World, make_event: MakeEvent
) -> None:
    world.notifier.fail = DOWN
    world.meter.fail_start = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.METER_START
    assert world.driver_orders.changes == [(ORDER, False)]
    assert world.notifier.pushes == []
    assert world.states.records[ORDER].failed_step is StartStep.METER_START


async def test_client_notify_down_does_not_touch_a_successful_start(
    world: World, make_event: MakeEvent
) -> None:
    world.notifier.fail = DOWN

    outcome = await world.ride_events().start(make_event())

    assert outcome.started
    assert world.driver_orders.changes == [(ORDER, True)]


async def test_repeated_ride_started_never_starts_a_second_meter_ride(
    world: World, make_event: MakeEvent
) -> None:
    events = world.ride_events()
    first = await events.start(make_event())
    again = await events.start(make_event())  # another event id, same order
    redelivered = await events.start(make_event(event_id="ev-1"))

    assert first.started
    assert again.skipped is SkipReason.ALREADY_HANDLED
    assert redelivered.skipped is SkipReason.ALREADY_HANDLED
    assert world.meter.calls == [("start", ORDER)]
    assert world.driver_orders.changes == [(ORDER, True)]


async def test_repeat_after_a_failed_start_does_not_retry(
    world: World, make_event: MakeEvent
) -> None:
    world.meter.fail_start = DOWN
    events = world.ride_events()
    await events.start(make_event())
    world.meter.fail_start = None

    again = await events.start(make_event())

    assert again.skipped is SkipReason.ALREADY_HANDLED
    assert world.meter.calls == [("start", ORDER)]


async def test_start_interrupted_after_order_core_write_resumes_without_the_vendor(
    world: World, make_event: MakeEvent
) -> None:
    # A worker died after writing the ride id to the order: our row still says starting.
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")
    world.orders.orders[ORDER].external_meter_ride_id = "mtx-earlier"

    outcome = await world.ride_events().start(make_event())

    assert (outcome.started, outcome.meter_ride_id) == (True, "mtx-earlier")
    assert world.meter.calls == []
    assert world.personal.reads == 0
    assert world.driver_orders.changes == [(ORDER, True)]
    assert world.states.records[ORDER].state is MeterState.STARTED


async def test_start_interrupted_before_order_core_write_reuses_the_vendor_ride(
    world: World, make_event: MakeEvent
) -> None:
    # The vendor started the ride, then the worker died before writing to the order:
    # the vendor's external_id idempotency hands back the same ride on redelivery.
    earlier = await world.meter.start_ride(
        StartRideCommand(ORDER, PERMIT, IdentityNumber(ID_NUMBER), Money(Decimal(1), "ILS"))
    )
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")

    outcome = await world.ride_events().start(make_event())

    assert outcome.meter_ride_id == earlier.ride_id
    assert len(world.meter.started_rides()) == 1
    assert world.orders.orders[ORDER].external_meter_ride_id == earlier.ride_id


async def test_revision_conflict_on_write_reads_again_and_writes(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.conflicts_to_raise = 1

    outcome = await world.ride_events().start(make_event())

    assert outcome.started
    assert world.orders.orders[ORDER].external_meter_ride_id == outcome.meter_ride_id


async def test_other_countries_are_skipped_and_nothing_is_called(
    world: World, make_event: MakeEvent
) -> None:
    outcome = await world.ride_events().start(make_event(country="RUS"))

    assert outcome.skipped is SkipReason.COUNTRY
    assert world.orders.reads == 0
    assert world.states.records == {}


async def test_drivers_outside_the_rollout_are_skipped(world: World, make_event: MakeEvent) -> None:
    events = world.ride_events(Rollout(mode="drivers", drivers=frozenset({"someone-else"})))

    outcome = await events.start(make_event())

    assert outcome.skipped is SkipReason.ROLLOUT
    assert world.orders.reads == 1  # the rollout is checked on the order's performer
    assert (world.meter.calls, world.driver_orders.changes) == ([], [])
    assert world.states.records == {}


async def test_price_falls_back_to_the_order_price(world: World, make_event: MakeEvent) -> None:
    world.orders.orders[ORDER].price = Decimal("61.2")

    await world.ride_events().start(make_event(price=None, currency=None))

    [ride] = world.meter.started_rides()
    assert ride.price == Money(Decimal("61.2"), "ILS")


async def test_no_price_anywhere_fails_at_meter_start_without_calling_the_vendor(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.orders[ORDER].price = None

    outcome = await world.ride_events().start(make_event(price=None, currency=None))

    assert (outcome.failed_step, world.meter.calls) == (StartStep.METER_START, [])
    assert world.states.records[ORDER].failure_reason == "no_price"


async def test_car_and_identity_are_the_order_performers(
    world: World, make_event: MakeEvent
) -> None:
    world.add_driver("p-9", "d-9", car_id="c-9", permit="PERMIT-9", id_number="ID-9")
    world.add_order("o-9", "p-9", "d-9", "c-9")

    await world.ride_events().start(
        make_event(order_id="o-9", park_id="p-9", driver_profile_id="d-9")
    )

    [ride] = world.meter.started_rides()
    assert (ride.permit_number, ride.driver_id_number) == ("PERMIT-9", "ID-9")
