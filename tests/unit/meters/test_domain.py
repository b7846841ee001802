"""Pure rules: who gets a meter, what each failing step requires, our price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from processors.meters.domain import (
    FAILURE_PLANS,
    Disagreement,
    MeterState,
    Money,
    Performer,
    Rollout,
    SkipReason,
    StartStep,
    disagreement,
    event_skip_reason,
    order_skip_reason,
    price_refusal,
    ride_price,
    rollout_bucket,
    start_may_run,
    too_late_to_start,
)
from tests.unit.meters.conftest import MakeEvent


def test_rollout_all_and_none() -> None:
    assert Rollout(mode="all").enables("p", "d")
    assert not Rollout(mode="none").enables("p", "d")


def test_rollout_drivers_matches_profile_id_or_park_and_profile() -> None:
    rollout = Rollout(mode="drivers", drivers=frozenset({"d-1", "p-2_d-2"}))
    assert rollout.enables("any-park", "d-1")
    assert rollout.enables("p-2", "d-2")
    assert not rollout.enables("p-3", "d-2")
    assert not rollout.enables("p-1", "d-3")


def test_rollout_bucket_is_stable_and_spread() -> None:
    assert rollout_bucket("driver-42") == rollout_bucket("driver-42")
    # sha256 of the id, first 8 bytes, mod 100: fixed forever, whatever the process.
    assert rollout_bucket("driver-42") == 11
    buckets = [rollout_bucket(f"driver-{n}") for n in range(10_000)]
    share = sum(b < 30 for b in buckets) / len(buckets)
    assert 0.27 < share < 0.33


def test_rollout_percent_edges_and_monotony() -> None:
    drivers = [f"driver-{n}" for n in range(500)]
    assert not any(Rollout(mode="percent", percent=0).enables("p", d) for d in drivers)
    assert all(Rollout(mode="percent", percent=100).enables("p", d) for d in drivers)
    at_20 = {d for d in drivers if Rollout(mode="percent", percent=20).enables("p", d)}
    at_50 = {d for d in drivers if Rollout(mode="percent", percent=50).enables("p", d)}
    # Raising the share only adds drivers: nobody loses the meter mid-rollout.
    assert at_20 < at_50


def test_event_alone_only_skips_other_countries_or_a_rollout_of_nobody(
    make_event: MakeEvent,
) -> None:
    everyone, nobody = Rollout(mode="all"), Rollout(mode="none")
    someone = Rollout(mode="drivers", drivers=frozenset({"someone-else"}))
    assert event_skip_reason(make_event(country="RUS"), everyone) is SkipReason.COUNTRY
    assert event_skip_reason(make_event(), nobody) is SkipReason.ROLLOUT
    assert event_skip_reason(make_event(), Rollout(mode="percent", percent=0)) is SkipReason.ROLLOUT
    # Whether this driver is in the rollout is decided on the order's performer.
    assert event_skip_reason(make_event(), someone) is None
    assert event_skip_reason(make_event(), everyone) is None


def test_order_decides_country_and_rollout() -> None:
    performer = Performer("p-1", "d-1")
    only_d1 = Rollout(mode="drivers", drivers=frozenset({"d-1"}))
    assert order_skip_reason(performer, "ISR", only_d1) is None
    assert order_skip_reason(performer, "RUS", only_d1) is SkipReason.COUNTRY
    assert order_skip_reason(performer, None, only_d1) is SkipReason.COUNTRY
    assert order_skip_reason(Performer("p-1", "d-2"), "ISR", only_d1) is SkipReason.ROLLOUT


def test_event_disagreeing_with_the_order(make_event: MakeEvent) -> None:
    event = make_event(park_id="p-1", driver_profile_id="d-1", country="ISR")
    assert disagreement(event, Performer("p-1", "d-1"), "ISR") is None
    assert disagreement(event, Performer("p-1", "d-2"), "ISR") is Disagreement.PERFORMER
    assert disagreement(event, Performer("p-2", "d-1"), "ISR") is Disagreement.PERFORMER
    assert disagreement(event, Performer("p-1", "d-1"), "RUS") is Disagreement.COUNTRY
    assert disagreement(event, Performer("p-1", "d-1"), None) is None


def test_start_too_late_past_the_max_age() -> None:
    started = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert not too_late_to_start(started, started + timedelta(seconds=60), 60)
    assert too_late_to_start(started, started + timedelta(seconds=60.5), 60)
    assert too_late_to_start(started, started + timedelta(minutes=5), 60)
    assert not too_late_to_start(started, started - timedelta(seconds=30), 60)  # clock skew
    naive = datetime(2026, 11, 22, 10, 0)
    assert too_late_to_start(naive, started + timedelta(minutes=5), 60)


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        ("0", None),
        ("48.5", None),
        ("100000", None),
        ("100000.01", "price_out_of_range"),
        ("1e30", "price_out_of_range"),
        ("-1", "price_out_of_range"),
        ("NaN", "price_out_of_range"),
        ("Infinity", "price_out_of_range"),
    ],
)
def test_meter_price_is_bounded_by_the_contract(amount: str, refusal: str | None) -> None:
    assert price_refusal(Money(Decimal(amount), "ILS")) == refusal


def test_no_price_is_refused() -> None:
    assert price_refusal(None) == "no_price"


def test_failure_table_of_the_contract() -> None:
    fallback = {step for step, plan in FAILURE_PLANS.items() if plan.fallback}
    assert fallback == {
        StartStep.EVENT_AGE,
        StartStep.METER_START,
        StartStep.ORDER_CORE_WRITE,
        StartStep.FLEET_VEHICLES,
        StartStep.DRIVER_PROFILES,
        StartStep.PERSONAL,
    }
    cancels = {step for step, plan in FAILURE_PLANS.items() if plan.cancel_meter_ride}
    assert cancels == {StartStep.ORDER_CORE_WRITE}
    assert set(FAILURE_PLANS) == set(StartStep)


def test_only_a_new_or_interrupted_start_runs() -> None:
    assert start_may_run(None)
    assert start_may_run(MeterState.STARTING)
    for state in (MeterState.STARTED, MeterState.FAILED, MeterState.FINISHED, MeterState.CANCELLED):
        assert not start_may_run(state)


def test_ride_price_prefers_the_event_then_the_order(make_event: MakeEvent) -> None:
    assert ride_price(make_event(), Decimal("10"), "ISR") == Money(Decimal("48.5"), "ILS")
    no_price = make_event(price=None, currency=None)
    assert ride_price(no_price, Decimal("10"), "ISR") == Money(Decimal("10"), "ILS")
    assert ride_price(no_price, None, "ISR") is None


def test_money_text_has_two_decimals() -> None:
    assert Money(Decimal("48.5"), "ILS").minor_units_text() == "48.50"
    assert Money(Decimal("48.555"), "ILS").minor_units_text() == "48.56"
    assert Money(Decimal("7"), "ILS").minor_units_text() == "7.00"
