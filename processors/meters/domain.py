"""The meters capability's rules, pure: who gets a meter, the states of an order's
meter ride, and what each failing step of a start requires (contract 3.2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal

from schemas.rides import RideEvent

# Countries whose cars carry smart meters, and the currency their meters count in.
METER_CURRENCY_BY_COUNTRY: dict[str, str] = {"ISR": "ILS"}

# The price a meter may be started with (contract 2.3: a decimal 0..100000); within
# what `meter_rides.price` (numeric(14, 2)) holds, so a started ride is always recorded.
MAX_METER_PRICE = Decimal(100_000)


class MeterState(StrEnum):
    """Where an order's meter ride is; `starting` while a start is under way."""

    STARTING = "starting"
    STARTED = "started"
    FAILED = "failed"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class StartStep(StrEnum):
    """The steps of a meter start, in order; a failed start records the one that failed."""

    ORDER_CORE_READ = "order_core_read"
    EVENT_AGE = "event_age"  # the ride started too long ago for the meter to start now
    FLEET_VEHICLES = "fleet_vehicles"
    DRIVER_PROFILES = "driver_profiles"
    PERSONAL = "personal"
    METER_START = "meter_start"
    ORDER_CORE_WRITE = "order_core_write"
    DRIVER_ORDERS_BUILDER = "driver_orders_builder"


class SkipReason(StrEnum):
    """Why a ride event changed nothing (a metric label)."""

    COUNTRY = "country"  # not a meter country
    ROLLOUT = "rollout"  # the driver is outside METERS_ROLLOUT
    ALREADY_HANDLED = "already_handled"  # a repeated or redelivered ride_started
    NO_METER_RIDE = "no_meter_ride"  # a cancel for an order without a running meter ride


class Disagreement(StrEnum):
    """Why a ride event was refused: it says something else than the order in order-core,
    which is the truth (a metric label)."""

    PERFORMER = "performer_mismatch"  # another park or driver than the order's performer
    COUNTRY = "country_mismatch"  # another country than the order's


@dataclass(frozen=True)
class FailurePlan:
    """What to do after a step failed: the driver's fallback, and whether to
    cancel the meter ride that was already started."""

    fallback: bool
    cancel_meter_ride: bool = False


# The failure table of contract 3.2. "fallback" = setcar is_external_meter_run=false
# plus a push, so the driver enters the price by hand.
FAILURE_PLANS: dict[StartStep, FailurePlan] = {
    StartStep.ORDER_CORE_READ: FailurePlan(fallback=False),
    StartStep.EVENT_AGE: FailurePlan(fallback=True),
    StartStep.FLEET_VEHICLES: FailurePlan(fallback=True),
    StartStep.DRIVER_PROFILES: FailurePlan(fallback=True),
    StartStep.PERSONAL: FailurePlan(fallback=True),
    StartStep.METER_START: FailurePlan(fallback=True),
    StartStep.ORDER_CORE_WRITE: FailurePlan(fallback=True, cancel_meter_ride=True),
    StartStep.DRIVER_ORDERS_BUILDER: FailurePlan(fallback=False),
}


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def minor_units_text(self) -> str:
        """The amount with two decimals, as meters show it (`48.50`)."""
        return str(self.amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


RolloutMode = Literal["none", "all", "percent", "drivers"]


@dataclass(frozen=True)
class Rollout:
    """Which drivers get the smart meter: `none`, `all`, a stable `percent` of
    drivers, or a list of `drivers` (driver_profile_id or park_id_driver_profile_id)."""

    mode: RolloutMode
    percent: int = 0
    drivers: frozenset[str] = field(default_factory=frozenset)

    @property
    def enables_nobody(self) -> bool:
        return self.mode == "none" or (self.mode == "percent" and self.percent == 0)

    def enables(self, park_id: str, driver_profile_id: str) -> bool:
        if self.mode == "all":
            return True
        if self.mode == "percent":
            return rollout_bucket(driver_profile_id) < self.percent
        if self.mode == "drivers":
            return (
                driver_profile_id in self.drivers
                or f"{park_id}_{driver_profile_id}" in self.drivers
            )
        return False


def rollout_bucket(driver_profile_id: str) -> int:
    """The driver's bucket 0..99: the same on every worker and every run."""
    digest = hashlib.sha256(driver_profile_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def event_skip_reason(event: RideEvent, rollout: Rollout) -> SkipReason | None:
    """Why a ride event needs no look at its order: a country without meters, or a
    rollout that enables nobody. The event can only make us do less here, never more;
    whether a meter starts is decided on the order (`order_skip_reason`)."""
    if event.country not in METER_CURRENCY_BY_COUNTRY:
        return SkipReason.COUNTRY
    if rollout.enables_nobody:
        return SkipReason.ROLLOUT
    return None


def disagreement(
    event: RideEvent, performer: Performer, country: str | None
) -> Disagreement | None:
    """How the event contradicts the order as order-core returns it, if it does."""
    if not performer.is_caller(event.park_id, event.driver_profile_id):
        return Disagreement.PERFORMER
    if country is not None and country != event.country:
        return Disagreement.COUNTRY
    return None


def order_skip_reason(
    performer: Performer, country: str | None, rollout: Rollout
) -> SkipReason | None:
    """Why the order gets no meter: its country has none, or its performer is outside
    the rollout; None when the meter should start."""
    if country not in METER_CURRENCY_BY_COUNTRY:
        return SkipReason.COUNTRY
    if not rollout.enables(performer.park_id, performer.driver_profile_id):
        return SkipReason.ROLLOUT
    return None


def too_late_to_start(occurred_at: datetime, now: datetime, max_age_s: float) -> bool:
    """A meter started mid-ride would bill the wrong fare: past `max_age_s` after the
    ride started, the driver enters the price by hand instead."""
    if occurred_at.tzinfo is None:  # RFC 3339 without an offset: taken as UTC
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return (now - occurred_at).total_seconds() > max_age_s


def start_may_run(state: MeterState | None) -> bool:
    """A start runs for a new order, or resumes one left `starting` by a crashed worker;
    anything else is a repeat (no retries against the meter vendor)."""
    return state is None or state is MeterState.STARTING


def ride_price(event: RideEvent, order_price: Decimal | None, country: str) -> Money | None:
    """Our price for the meter: the event's, else the order's; in the country's currency."""
    amount = event.price if event.price is not None else order_price
    currency = event.currency or METER_CURRENCY_BY_COUNTRY.get(country)
    if amount is None or currency is None:
        return None
    return Money(amount, currency)


def price_refusal(price: Money | None) -> str | None:
    """Why the meter must not start with this price (`no_price`, `price_out_of_range`),
    checked before the vendor is called; None when it may."""
    if price is None:
        return "no_price"
    amount = price.amount
    if not amount.is_finite() or not Decimal(0) <= amount <= MAX_METER_PRICE:
        return "price_out_of_range"
    return None


@dataclass(frozen=True)
class Performer:
    park_id: str
    driver_profile_id: str

    def is_caller(self, park_id: str, driver_profile_id: str) -> bool:
        return (self.park_id, self.driver_profile_id) == (park_id, driver_profile_id)
