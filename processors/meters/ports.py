"""The ports the meter use cases talk through; adapters in `processors/adapters/`
implement them, unit tests pass fakes. Every method raises only `errors.PeerError`s."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from processors.meters.domain import MeterState, Money, Performer, StartStep


class IdentityNumber:
    """The driver's identity document number. Its text is only reachable through
    `reveal()` (called by the meter adapter when it builds the vendor's request), so a
    log line, an f-string or a traceback showing this object shows no number."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "IdentityNumber(<hidden>)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an identity number is never serialised")


@dataclass(frozen=True)
class StartRideCommand:
    external_id: str  # our order id: the vendor's idempotency key
    permit_number: str
    driver_id_number: IdentityNumber
    price: Money


@dataclass(frozen=True)
class MeterRide:
    ride_id: str
    status: str


@dataclass(frozen=True)
class FinishedMeterRide:
    ride_id: str
    meter_price: Money


class MeterProvider(Protocol):
    """A smart-meter vendor (Monitex first). Starting is idempotent by `external_id`."""

    async def start_ride(self, command: StartRideCommand) -> MeterRide: ...

    async def finish_ride(self, ride_id: str, price: Money) -> FinishedMeterRide: ...

    async def cancel_ride(self, ride_id: str) -> None: ...


@dataclass(frozen=True)
class OrderSnapshot:
    order_id: str
    performer: Performer
    car_id: str | None
    country: str | None
    price: Decimal | None
    external_meter_ride_id: str | None
    revision: dict[str, Any]  # opaque; handed back on write


class OrderStore(Protocol):
    """order-core."""

    async def get_order(self, order_id: str) -> OrderSnapshot: ...

    async def set_external_meter_ride_id(
        self, order_id: str, revision: dict[str, Any], meter_ride_id: str
    ) -> None: ...


class VehicleRegistry(Protocol):
    """fleet-vehicles."""

    async def permit_number(self, park_id: str, car_id: str) -> str: ...


class IdentityDocs(Protocol):
    """driver-profiles: where the identity document number is kept, not the number."""

    async def identity_number_pd_id(self, park_id: str, driver_profile_id: str) -> str: ...


class PersonalData(Protocol):
    """personal: the identity document number itself."""

    async def identity_number(self, pd_id: str) -> IdentityNumber: ...


class DriverOrders(Protocol):
    """driver-orders-builder: the driver's order in the Pro app (setcar)."""

    async def set_external_meter_run(
        self, park_id: str, driver_profile_id: str, order_id: str, running: bool
    ) -> None: ...


class DriverNotifier(Protocol):
    """client-notify."""

    async def meter_start_failed(
        self, park_id: str, driver_profile_id: str, order_id: str
    ) -> None: ...


@dataclass(frozen=True)
class StartFailure:
    """Why an order's meter did not start: the step, its reason, the ride it left."""

    step: StartStep
    reason: str
    meter_ride_id: str | None = None


@dataclass(frozen=True)
class MeterRecord:
    """What we know of an order's meter ride (a row of `meter_rides`)."""

    order_id: str
    state: MeterState
    park_id: str
    driver_profile_id: str
    price: Money | None = None
    meter_ride_id: str | None = None
    failed_step: StartStep | None = None
    failure_reason: str | None = None
    meter_price: Money | None = None

    @property
    def performer(self) -> Performer:
        """The order's performer, as order-core gave it when the start began."""
        return Performer(self.park_id, self.driver_profile_id)


class MeterStates(Protocol):
    """The record of every order's meter ride, for the use cases and for operators.

    Each change also appends a line to the order's history (`note`)."""

    async def get(self, order_id: str) -> MeterRecord | None: ...

    async def begin_start(
        self, order_id: str, park_id: str, driver_profile_id: str, event_id: str
    ) -> MeterRecord | None:
        """Record `starting` for a new order and return None; for a known order change
        nothing and return what is recorded."""
        ...

    async def mark_started(
        self, order_id: str, meter_ride_id: str, price: Money | None
    ) -> None: ...

    async def mark_failed(
        self, order_id: str, failure: StartFailure, price: Money | None
    ) -> None: ...

    async def mark_cancelled(self, order_id: str, park_id: str, driver_profile_id: str) -> None:
        """Record `cancelled`, also for an order not seen before (a late start then
        does nothing)."""
        ...

    async def mark_finished(
        self, order_id: str, meter_ride_id: str, meter_price: Money
    ) -> None: ...

    async def note(
        self, order_id: str, what: str, detail: dict[str, Any] | None = None
    ) -> None: ...


@dataclass(frozen=True)
class MeterPorts:
    meter: MeterProvider
    orders: OrderStore
    vehicles: VehicleRegistry
    identity_docs: IdentityDocs
    personal: PersonalData
    driver_orders: DriverOrders
    notifier: DriverNotifier
    states: MeterStates
