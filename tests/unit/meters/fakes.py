"""In-memory doubles of every meters port, with call records and injectable failures."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from processors.meters.domain import MeterState, Money, Performer, Rollout
from processors.meters.errors import PeerError, PeerNotFound, PeerRejected, RevisionConflict
from processors.meters.ports import (
    FinishedMeterRide,
    IdentityNumber,
    MeterRecord,
    MeterRide,
    OrderSnapshot,
    StartFailure,
    StartRideCommand,
)
from processors.meters.service import FinishRide, MeterPorts, RideEvents
from processors.meters.start_ride import StartMeterRide

# When the test rides start (`occurred_at`), and the worker's clock: 5 s later.
STARTED_AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NOW = STARTED_AT + timedelta(seconds=5)


@dataclass
class VendorRide:
    ride_id: str
    external_id: str
    permit_number: str
    driver_id_number: str
    price: Money
    status: str = "running"
    meter_price: Money | None = None


class FakeMeter:
    def __init__(self) -> None:
        self.rides: dict[str, VendorRide] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_start: PeerError | None = None
        self.fail_finish: PeerError | None = None
        self.fail_cancel: PeerError | None = None
        self.meter_price: Decimal | None = None
        self._ids = itertools.count(1)

    async def start_ride(self, command: StartRideCommand) -> MeterRide:
        self.calls.append(("start", command.external_id))
        if self.fail_start is not None:
            raise self.fail_start
        for ride in self.rides.values():
            if ride.external_id == command.external_id:
                return MeterRide(ride.ride_id, ride.status)
        ride = VendorRide(
            f"mtx-{next(self._ids)}",
            command.external_id,
            command.permit_number,
            command.driver_id_number.reveal(),
            command.price,
        )
        self.rides[ride.ride_id] = ride
        return MeterRide(ride.ride_id, ride.status)

    async def finish_ride(self, ride_id: str, price: Money) -> FinishedMeterRide:
        self.calls.append(("finish", ride_id))
        if self.fail_finish is not None:
            raise self.fail_finish
        ride = self.rides.get(ride_id)
        if ride is None:
            raise PeerNotFound("monitex", "finish_ride", "ride_not_found")
        if ride.status == "cancelled":
            raise PeerRejected("monitex", "finish_ride", "ride_cancelled")
        if ride.status == "running":
            amount = self.meter_price if self.meter_price is not None else price.amount
            ride.meter_price = Money(amount, price.currency)
            ride.status = "finished"
        assert ride.meter_price is not None
        return FinishedMeterRide(ride_id, ride.meter_price)

    async def cancel_ride(self, ride_id: str) -> None:
        self.calls.append(("cancel", ride_id))
        if self.fail_cancel is not None:
            raise self.fail_cancel
        self.rides[ride_id].status = "cancelled"

    def started_rides(self) -> list[VendorRide]:
        return list(self.rides.values())


@dataclass
class FakeOrder:
    order_id: str
    park_id: str
    driver_profile_id: str
    car_id: str | None
    country: str = "ISR"
    price: Decimal | None = Decimal("48.5")
    external_meter_ride_id: str | None = None
    version: int = 1


class FakeOrders:
    def __init__(self) -> None:
        self.orders: dict[str, FakeOrder] = {}
        self.fail_read: PeerError | None = None
        self.fail_write: PeerError | None = None
        self.conflicts_to_raise = 0
        self.reads = 0
        self.writes: list[tuple[str, str]] = []

    async def get_order(self, order_id: str) -> OrderSnapshot:
        self.reads += 1
        if self.fail_read is not None:
            raise self.fail_read
        order = self.orders.get(order_id)
        if order is None:
            raise PeerNotFound("order-core", "get_fields", "order_not_found")
        return OrderSnapshot(
            order_id=order_id,
            performer=Performer(order.park_id, order.driver_profile_id),
            car_id=order.car_id,
            country=order.country,
            price=order.price,
            external_meter_ride_id=order.external_meter_ride_id,
            revision={"order.version": order.version},
        )

    async def set_external_meter_ride_id(
        self, order_id: str, revision: dict[str, Any], meter_ride_id: str
    ) -> None:
        if self.fail_write is not None:
            raise self.fail_write
        order = self.orders[order_id]
        if self.conflicts_to_raise:
            self.conflicts_to_raise -= 1
            order.version += 1
            raise RevisionConflict("order-core", "set_fields", "revision_mismatch")
        if revision != {"order.version": order.version}:
            raise RevisionConflict("order-core", "set_fields", "revision_mismatch")
        order.external_meter_ride_id = meter_ride_id
        order.version += 1
        self.writes.append((order_id, meter_ride_id))


class FakeLookup:
    """A peer that looks a value up by park and one more id: `fail` is raised when set,
    an unknown pair is not found (with the peer's reason)."""

    def __init__(self, peer: str, not_found: str) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.fail: PeerError | None = None
        self._peer, self._not_found = peer, not_found

    async def _look_up(self, park_id: str, other_id: str) -> str:
        if self.fail is not None:
            raise self.fail
        try:
            return self.values[(park_id, other_id)]
        except KeyError:
            raise PeerNotFound(self._peer, "retrieve", self._not_found) from None


class FakeVehicles(FakeLookup):
    def __init__(self) -> None:
        super().__init__("fleet-vehicles", "no_permit")

    async def permit_number(self, park_id: str, car_id: str) -> str:
        return await self._look_up(park_id, car_id)


class FakeIdentityDocs(FakeLookup):
    def __init__(self) -> None:
        super().__init__("driver-profiles", "no_identity_doc")

    async def identity_number_pd_id(self, park_id: str, driver_profile_id: str) -> str:
        return await self._look_up(park_id, driver_profile_id)


class FakePersonal:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.fail: PeerError | None = None
        self.reads = 0

    async def identity_number(self, pd_id: str) -> IdentityNumber:
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        return IdentityNumber(self.values[pd_id])


class FakeDriverOrders:
    def __init__(self) -> None:
        self.changes: list[tuple[str, bool]] = []
        self.fail: PeerError | None = None

    async def set_external_meter_run(
        self, park_id: str, driver_profile_id: str, order_id: str, running: bool
    ) -> None:
        if self.fail is not None:
            raise self.fail
        self.changes.append((order_id, running))


class FakeNotifier:
    def __init__(self) -> None:
        self.pushes: list[tuple[str, str, str]] = []
        self.fail: PeerError | None = None

    async def meter_start_failed(self, park_id: str, driver_profile_id: str, order_id: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.pushes.append((park_id, driver_profile_id, order_id))


class InMemoryMeterStates:
    def __init__(self) -> None:
        self.records: dict[str, MeterRecord] = {}
        self.history: list[tuple[str, str, dict[str, Any] | None]] = []

    async def get(self, order_id: str) -> MeterRecord | None:
        return self.records.get(order_id)

    async def begin_start(
        self, order_id: str, park_id: str, driver_profile_id: str, event_id: str
    ) -> MeterRecord | None:
        existing = self.records.get(order_id)
        if existing is None:
            self.records[order_id] = MeterRecord(
                order_id, MeterState.STARTING, park_id, driver_profile_id
            )
            self.history.append((order_id, "start_begun", {"event_id": event_id}))
        return existing

    async def mark_started(self, order_id: str, meter_ride_id: str, price: Money | None) -> None:
        self._set(
            order_id, "started", state=MeterState.STARTED, meter_ride_id=meter_ride_id, price=price
        )

    async def mark_failed(self, order_id: str, failure: StartFailure, price: Money | None) -> None:
        self._set(
            order_id,
            "start_failed",
            state=MeterState.FAILED,
            failed_step=failure.step,
            failure_reason=failure.reason,
            meter_ride_id=failure.meter_ride_id,
            price=price,
        )

    async def mark_cancelled(self, order_id: str, park_id: str, driver_profile_id: str) -> None:
        if order_id not in self.records:
            self.records[order_id] = MeterRecord(
                order_id, MeterState.CANCELLED, park_id, driver_profile_id
            )
            self.history.append((order_id, "cancelled", None))
            return
        self._set(order_id, "cancelled", state=MeterState.CANCELLED)

    async def mark_finished(self, order_id: str, meter_ride_id: str, meter_price: Money) -> None:
        self._set(
            order_id,
            "finished",
            state=MeterState.FINISHED,
            meter_ride_id=meter_ride_id,
            meter_price=meter_price,
        )

    async def note(self, order_id: str, what: str, detail: dict[str, Any] | None = None) -> None:
        self.history.append((order_id, what, detail))

    def _set(self, order_id: str, what: str, **changes: Any) -> None:
        self.records[order_id] = replace(self.records[order_id], **changes)
        self.history.append((order_id, what, {k: str(v) for k, v in changes.items()}))

    def whats(self, order_id: str) -> list[str]:
        return [what for oid, what, _ in self.history if oid == order_id]


@dataclass
class World:
    """Every fake wired into ports; `add_driver` and `add_order` set up a ride."""

    meter: FakeMeter = field(default_factory=FakeMeter)
    orders: FakeOrders = field(default_factory=FakeOrders)
    vehicles: FakeVehicles = field(default_factory=FakeVehicles)
    identity_docs: FakeIdentityDocs = field(default_factory=FakeIdentityDocs)
    personal: FakePersonal = field(default_factory=FakePersonal)
    driver_orders: FakeDriverOrders = field(default_factory=FakeDriverOrders)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    states: InMemoryMeterStates = field(default_factory=InMemoryMeterStates)
    now: datetime = NOW

    @property
    def ports(self) -> MeterPorts:
        # Each port is the fake of the same name: a new port needs only its field here.
        return MeterPorts(**{port.name: getattr(self, port.name) for port in fields(MeterPorts)})

    def ride_events(
        self, rollout: Rollout | None = None, max_start_age_s: float = 60.0
    ) -> RideEvents:
        start = StartMeterRide(
            self.ports, rollout or Rollout(mode="all"), max_start_age_s, clock=lambda: self.now
        )
        return RideEvents(self.ports, start)

    def finish_ride(self, wait_for_start_s: float = 0.3) -> FinishRide:
        return FinishRide(self.ports, wait_for_start_s, poll_interval_s=0.01)

    def add_driver(
        self,
        park_id: str,
        driver_profile_id: str,
        *,
        car_id: str,
        permit: str,
        id_number: str,
    ) -> None:
        self.vehicles.values[(park_id, car_id)] = permit
        pd_id = f"pd-{park_id}-{driver_profile_id}"
        self.identity_docs.values[(park_id, driver_profile_id)] = pd_id
        self.personal.values[pd_id] = id_number

    def add_order(
        self, order_id: str, park_id: str, driver_profile_id: str, car_id: str | None
    ) -> FakeOrder:
        order = FakeOrder(order_id, park_id, driver_profile_id, car_id)
        self.orders.orders[order_id] = order
        return order
