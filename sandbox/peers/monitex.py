"""Fake Monitex meter API (vendor): start, finish and cancel rides on the physical meter.

Starting checks that the permit and identity numbers are those of the order's
car and driver (400 otherwise), so tests know the right values travelled.
Finishing answers the sandbox order's `meter_price` (or, without one, the price sent).
"""

from __future__ import annotations

import secrets
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from sandbox.clock import now
from sandbox.context import SandboxDep
from sandbox.errors import PeerError
from sandbox.peer_models.monitex import (
    FinishedRideAnswer,
    FinishRide,
    MoneyAnswer,
    RideAnswer,
    StartRide,
)
from sandbox.state import MeterRide, World


async def require_api_key(
    sandbox: SandboxDep, x_api_key: Annotated[str | None, Header()] = None
) -> None:
    expected = sandbox.settings.monitex_api_key
    if x_api_key is None or not secrets.compare_digest(x_api_key.encode(), expected.encode()):
        raise PeerError(401, "unauthorized", "missing or wrong X-Api-Key")


router = APIRouter(prefix="/v0.2/rides", dependencies=[Depends(require_api_key)])


def money(amount: Decimal, currency: str) -> MoneyAnswer:
    return MoneyAnswer(amount=f"{amount.quantize(Decimal('0.01'))}", currency=currency)


def _check_identity(world: World, body: StartRide) -> None:
    """The permit and id number must be the order performer's (or, for an order the
    sandbox does not know, at least some registered car's and driver's)."""
    order = world.orders.get(body.external_id)
    if order is not None:
        performer = order.document.get("performer") or {}
        driver = world.drivers.get(
            (performer.get("park_id", ""), performer.get("driver_profile_id", ""))
        )
        permit = world.permits.get(f"{performer.get('park_id')}_{performer.get('car_id')}")
        permit_ok = permit is not None and permit == body.permit_number
        id_ok = driver is not None and driver.id_number == body.driver_id_number
    else:
        permit_ok = body.permit_number in world.permits.values()
        id_ok = any(d.id_number == body.driver_id_number for d in world.drivers.values())
    if not permit_ok:
        raise PeerError(400, "permit_mismatch", "permit_number is not the order's car's")
    if not id_ok:
        raise PeerError(400, "driver_mismatch", "driver_id_number is not the order's driver's")


def _find(world: World, ride_id: str) -> MeterRide:
    ride = world.rides.get(ride_id)
    if ride is None:
        raise PeerError(404, "ride_not_found", f"no ride {ride_id}")
    return ride


@router.post("")
async def start_ride(body: StartRide, sandbox: SandboxDep) -> RideAnswer:
    world = sandbox.world
    existing = world.ride_for_order(body.external_id)
    if existing is not None:
        return RideAnswer(ride_id=existing.ride_id, status=existing.status)
    _check_identity(world, body)
    ride = MeterRide(
        ride_id=f"mtx-{uuid.uuid4().hex[:16]}",
        external_id=body.external_id,
        permit_number=body.permit_number,
        driver_id_number=body.driver_id_number,
        price_amount=body.price.amount,
        price_currency=body.price.currency,
        status="running",
        started_at=now(),
    )
    world.rides[ride.ride_id] = ride
    world.rides_by_external_id[ride.external_id] = ride.ride_id
    return RideAnswer(ride_id=ride.ride_id, status=ride.status)


@router.post("/{ride_id}/finish")
async def finish_ride(ride_id: str, body: FinishRide, sandbox: SandboxDep) -> FinishedRideAnswer:
    ride = _find(sandbox.world, ride_id)
    if ride.status == "cancelled":
        raise PeerError(409, "ride_cancelled", "the ride was cancelled")
    if ride.status == "running":
        order = sandbox.world.orders.get(ride.external_id)
        meter_price = order.meter_price if order and order.meter_price is not None else None
        ride.meter_price_amount = meter_price if meter_price is not None else body.price.amount
        ride.meter_price_currency = body.price.currency
        ride.status = "finished"
    assert ride.meter_price_amount is not None and ride.meter_price_currency is not None
    return FinishedRideAnswer(
        ride_id=ride.ride_id,
        status=ride.status,
        meter_price=money(ride.meter_price_amount, ride.meter_price_currency),
    )


@router.post("/{ride_id}/cancel")
async def cancel_ride(ride_id: str, sandbox: SandboxDep) -> RideAnswer:
    ride = _find(sandbox.world, ride_id)
    if ride.status == "finished":
        raise PeerError(409, "ride_finished", "the ride is already finished")
    ride.status = "cancelled"
    return RideAnswer(ride_id=ride.ride_id, status=ride.status)
