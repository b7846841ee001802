"""Pure rules: who gets a meter, what each failing step requires, our price."""

from __future__ import annotations

from decimal import Decimal

from processors.meters.domain import (
    FAILURE_PLANS,
    MeterState,
    Money,
    Rollout,
    SkipReason,
    StartStep,
    ride_price,
    rollout_bucket,
    start_may_run,
    start_skip_reason,
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


def test_start_skips_other_countries_then_rollout(make_event: MakeEvent) -> None:
    assert start_skip_reason(make_event(country="RUS"), Rollout(mode="all")) is SkipReason.COUNTRY
    assert start_skip_reason(make_event(), Rollout(mode="none")) is SkipReason.ROLLOUT
    assert start_skip_reason(make_event(), Rollout(mode="all")) is None


def test_failure_table_of_the_contract() -> None:
    fallback = {step for step, plan in FAILURE_PLANS.items() if plan.fallback}
    assert fallback == {
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
