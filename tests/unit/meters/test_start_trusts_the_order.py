"""Contract 3.2 as changed: the order in order-core is the truth. An event that
disagrees with it starts nothing and is counted; a start that comes too late falls
back; the price is bounded before the vendor is called. Fakes only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import structlog.testing
from prometheus_client import REGISTRY

from processors.meters.domain import Disagreement, MeterState, Rollout, StartStep
from tests.unit.meters.conftest import DRIVER, ORDER, PARK, MakeEvent
from tests.unit.meters.fakes import STARTED_AT, World


def refused_count(event: str, reason: Disagreement) -> float:
    labels = {"event": event, "reason": str(reason)}
    return REGISTRY.get_sample_value("meter_ride_events_refused_total", labels) or 0.0


def nothing_started(world: World) -> bool:
    return (
        world.meter.calls == []
        and world.personal.reads == 0
        and world.orders.writes == []
        and world.driver_orders.changes == []
        and world.notifier.pushes == []
    )


@pytest.mark.parametrize(
    "claims",
    [{"driver_profile_id": "d-other"}, {"park_id": "p-other"}],
    ids=["another_driver", "another_park"],
)
async def test_event_naming_another_performer_starts_nothing_and_is_counted(
    world: World, make_event: MakeEvent, claims: dict[str, str]
) -> None:
    world.add_driver(
        claims.get("park_id", PARK),
        claims.get("driver_profile_id", DRIVER),
        car_id="c-1",
        permit="PERMIT-X",
        id_number="ID-X",
    )
    before = refused_count("ride_started", Disagreement.PERFORMER)

    outcome = await world.ride_events().start(make_event(**claims))

    assert outcome.refused is Disagreement.PERFORMER
    assert not outcome.started and outcome.failed_step is None
    assert nothing_started(world)
    assert world.states.records == {}  # a genuine event for the order still starts it
    assert refused_count("ride_started", Disagreement.PERFORMER) == before + 1
    assert (await world.ride_events().start(make_event())).started


async def test_event_in_another_country_than_the_order_starts_nothing(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.orders[ORDER].country = "RUS"
    before = refused_count("ride_started", Disagreement.COUNTRY)

    outcome = await world.ride_events().start(make_event(country="ISR"))

    assert outcome.refused is Disagreement.COUNTRY
    assert nothing_started(world)
    assert refused_count("ride_started", Disagreement.COUNTRY) == before + 1


async def test_rollout_is_decided_on_the_orders_performer(
    world: World, make_event: MakeEvent
) -> None:
    # The event claims the one driver in the rollout; the order is another driver's.
    world.add_driver(PARK, "d-2", car_id="c-1", permit="PERMIT-2", id_number="ID-2")
    world.orders.orders[ORDER].driver_profile_id = "d-2"
    events = world.ride_events(Rollout(mode="drivers", drivers=frozenset({DRIVER})))

    outcome = await events.start(make_event())

    assert outcome.refused is Disagreement.PERFORMER
    assert nothing_started(world)


async def test_five_minute_old_start_falls_back_without_the_vendor(
    world: World, make_event: MakeEvent
) -> None:
    world.now = STARTED_AT + timedelta(minutes=5)

    outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.EVENT_AGE
    assert (world.meter.calls, world.personal.reads) == ([], 0)
    assert world.driver_orders.changes == [(ORDER, False)]
    assert world.notifier.pushes == [(PARK, DRIVER, ORDER)]
    record = world.states.records[ORDER]
    assert (record.state, record.failed_step, record.failure_reason) == (
        MeterState.FAILED,
        StartStep.EVENT_AGE,
        "too_old",
    )


async def test_start_within_the_max_age_starts(world: World, make_event: MakeEvent) -> None:
    world.now = STARTED_AT + timedelta(seconds=59)

    assert (await world.ride_events().start(make_event())).started


async def test_max_age_is_a_setting(world: World, make_event: MakeEvent) -> None:
    world.now = STARTED_AT + timedelta(seconds=20)

    outcome = await world.ride_events(max_start_age_s=10).start(make_event())

    assert outcome.failed_step is StartStep.EVENT_AGE


async def test_late_resume_of_a_meter_already_on_the_order_completes_the_start(
    world: World, make_event: MakeEvent
) -> None:
    # The meter already runs (a worker died after writing it to the order): no fallback.
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")
    world.orders.orders[ORDER].external_meter_ride_id = "mtx-earlier"
    world.now = STARTED_AT + timedelta(minutes=5)

    outcome = await world.ride_events().start(make_event())

    assert (outcome.started, outcome.meter_ride_id) == (True, "mtx-earlier")
    assert world.driver_orders.changes == [(ORDER, True)]


@pytest.mark.parametrize("amount", ["100000.01", "1e30", "1e12"])
async def test_price_beyond_the_contract_fails_before_the_vendor_and_records_no_price(
    world: World, make_event: MakeEvent, amount: str
) -> None:
    # Built without validation: whatever the ingress lets through, the processor checks.
    event = make_event().model_copy(update={"price": Decimal(amount)})

    outcome = await world.ride_events().start(event)

    assert outcome.failed_step is StartStep.METER_START
    assert (world.meter.calls, world.personal.reads) == ([], 0)
    assert world.driver_orders.changes == [(ORDER, False)]
    record = world.states.records[ORDER]
    assert (record.state, record.failure_reason, record.price) == (
        MeterState.FAILED,
        "price_out_of_range",
        None,
    )


async def test_order_price_beyond_the_contract_is_refused_too(
    world: World, make_event: MakeEvent
) -> None:
    world.orders.orders[ORDER].price = Decimal("1e30")

    outcome = await world.ride_events().start(make_event(price=None, currency=None))

    assert outcome.failed_step is StartStep.METER_START
    assert world.states.records[ORDER].failure_reason == "price_out_of_range"


async def test_highest_contract_price_starts(world: World, make_event: MakeEvent) -> None:
    outcome = await world.ride_events().start(make_event(price=Decimal("100000")))

    assert outcome.started
    [ride] = world.meter.started_rides()
    assert ride.price.amount == Decimal("100000")


async def test_cancel_naming_another_driver_leaves_the_meter_running(
    world: World, make_event: MakeEvent
) -> None:
    started = await world.ride_events().start(make_event())
    before = refused_count("ride_cancelled", Disagreement.PERFORMER)

    outcome = await world.ride_events().cancel(
        make_event("ride_cancelled", driver_profile_id="d-other"),
        world.states.records[ORDER],
    )

    assert outcome == "refused:performer_mismatch"
    assert world.meter.rides[str(started.meter_ride_id)].status == "running"
    assert world.states.records[ORDER].state is MeterState.STARTED
    assert refused_count("ride_cancelled", Disagreement.PERFORMER) == before + 1


async def test_late_resume_without_a_ride_on_the_order_falls_back_and_warns(
    world: World, make_event: MakeEvent
) -> None:
    # A worker died mid-start before the order knew a ride: the vendor may have one.
    await world.states.begin_start(ORDER, PARK, DRIVER, "ev-0")
    world.now = STARTED_AT + timedelta(minutes=5)

    with structlog.testing.capture_logs() as lines:
        outcome = await world.ride_events().start(make_event())

    assert outcome.failed_step is StartStep.EVENT_AGE
    assert world.meter.calls == []
    assert world.driver_orders.changes == [(ORDER, False)]
    assert {"event": "meter_start_too_late_after_crash", "order_id": ORDER} in [
        {k: line[k] for k in ("event", "order_id") if k in line} for line in lines
    ]
