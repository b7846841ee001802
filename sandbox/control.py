"""The control API (`/_sandbox/...`): set up drivers and orders, answer for the driver,
read what the peers saw. Faults have their own module, `sandbox.faults`."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.context import CorrelationIdDep, SandboxDep
from sandbox.errors import PeerError
from sandbox.merch_payments import payment_answer
from sandbox.peer_names import ServiceFilter
from sandbox.peers.monitex import money
from sandbox.peers.order_core import revision
from sandbox.state import Acceptance, Driver, Order, Payment

router = APIRouter(prefix="/_sandbox", tags=["control"])


class DriverSetup(BaseModel):
    park_id: str = Field(min_length=1)
    driver_profile_id: str = Field(min_length=1)
    balance: int = 0  # minor units
    currency: str = Field(default="RUB", min_length=3, max_length=3)
    qr_code: str | None = Field(default=None, min_length=1, max_length=512)
    acceptance: Acceptance = "auto"
    id_number: str | None = Field(default=None, min_length=1)
    car_id: str | None = Field(default=None, min_length=1)
    permit_number: str | None = Field(default=None, min_length=1)
    blocked: bool = False
    qr_expired: bool = False
    payment_limit: int | None = Field(default=None, ge=0)


class OrderSetup(BaseModel):
    order_id: str = Field(min_length=1)
    park_id: str = Field(min_length=1)
    driver_profile_id: str = Field(min_length=1)
    car_id: str | None = None
    country: str = Field(default="ISR", min_length=2, max_length=3)
    price: Decimal | None = Field(default=None, ge=0)
    meter_price: Decimal | None = Field(default=None, ge=0)


def driver_view(driver: Driver) -> dict[str, Any]:
    """The driver as set up, minus the identity number (see the journal for what travelled)."""
    return {
        "park_id": driver.park_id,
        "driver_profile_id": driver.driver_profile_id,
        "balance": driver.balance,
        "currency": driver.currency,
        "qr_code": driver.qr_code,
        "acceptance": driver.acceptance,
        "car_id": driver.car_id,
        "permit_number": driver.permit_number,
        "blocked": driver.blocked,
        "qr_expired": driver.qr_expired,
        "payment_limit": driver.payment_limit,
        "number_pd_id": driver.number_pd_id,
        "ledger": [asdict(entry) for entry in driver.ledger],
    }


def payment_view(payment: Payment, refunds: list[dict[str, Any]]) -> dict[str, Any]:
    driver = None
    if payment.driver is not None:
        driver = {"park_id": payment.driver[0], "driver_profile_id": payment.driver[1]}
    return {
        **payment_answer(payment).model_dump(mode="json"),
        "partner": payment.partner,
        "external_id": payment.external_id,
        "merchant": payment.merchant,
        "driver": driver,
        "created_at": payment.created_at,
        "history": list(payment.history),
        "refunds": refunds,
    }


@router.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, Any]:
    """Empty the world, the journal and the faults; every peer instant again."""
    sandbox.payments.reset()
    sandbox.world.reset()
    sandbox.journal.clear()
    sandbox.faults.clear()
    sandbox.latencies.clear()
    return {"reset": True}


@router.post("/drivers")
async def upsert_driver(body: DriverSetup, sandbox: SandboxDep) -> dict[str, Any]:
    driver = sandbox.world.upsert_driver(Driver(**body.model_dump()))
    return driver_view(driver)


@router.get("/drivers/{park_id}/{driver_profile_id}")
async def read_driver(park_id: str, driver_profile_id: str, sandbox: SandboxDep) -> dict[str, Any]:
    driver = sandbox.world.drivers.get((park_id, driver_profile_id))
    if driver is None:
        raise PeerError(404, "driver_not_found", f"no driver {park_id}/{driver_profile_id}")
    return driver_view(driver)


@router.post("/orders")
async def upsert_order(body: OrderSetup, sandbox: SandboxDep) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": body.order_id,
        "performer": {
            "park_id": body.park_id,
            "driver_profile_id": body.driver_profile_id,
            "car_id": body.car_id,
        },
        "country": body.country,
        "price": float(body.price) if body.price is not None else None,
    }
    order = Order(body.order_id, document, version=1, meter_price=body.meter_price)
    sandbox.world.orders[order.order_id] = order
    return await read_order(order.order_id, sandbox)


@router.get("/orders/{order_id}")
async def read_order(order_id: str, sandbox: SandboxDep) -> dict[str, Any]:
    """The order-core document, what setcar was told, and the meter ride, if any."""
    world = sandbox.world
    order = world.orders.get(order_id)
    ride = world.ride_for_order(order_id)
    if order is None and ride is None and order_id not in world.setcar:
        raise PeerError(404, "order_not_found", f"no order {order_id}")
    meter_ride = None
    if ride is not None:
        meter_ride = {
            "ride_id": ride.ride_id,
            "status": ride.status,
            "permit_number": ride.permit_number,
            "price": money(ride.price_amount, ride.price_currency).model_dump(),
            "meter_price": money(
                ride.meter_price_amount, ride.meter_price_currency or ""
            ).model_dump()
            if ride.meter_price_amount is not None
            else None,
        }
    return {
        "order_id": order_id,
        "document": dict(order.document) if order else None,
        "revision": revision(order) if order else None,
        "meter_price": str(order.meter_price) if order and order.meter_price is not None else None,
        "setcar": world.setcar.get(order_id),
        "meter_ride": meter_ride,
    }


@router.get("/payments/{payment_id}")
async def read_payment(payment_id: str, sandbox: SandboxDep) -> dict[str, Any]:
    payment = sandbox.payments.find(payment_id)
    refunds = [asdict(r) for r in sandbox.world.refunds.values() if r.payment_id == payment_id]
    return payment_view(payment, refunds)


@router.post("/payments/{payment_id}/{answer}")
async def answer_payment(
    payment_id: str,
    answer: Literal["accept", "reject"],
    sandbox: SandboxDep,
    correlation_id: CorrelationIdDep,
) -> dict[str, Any]:
    """The driver's answer in the app to a payment held for manual acceptance."""
    act = sandbox.payments.accept if answer == "accept" else sandbox.payments.reject
    await act(payment_id, correlation_id)
    return await read_payment(payment_id, sandbox)


class EventDropping(BaseModel):
    drop: bool


@router.post("/events/drop")
async def drop_events(body: EventDropping, sandbox: SandboxDep) -> dict[str, Any]:
    """Lose (or stop losing) the payments service's status events; reset stops it."""
    sandbox.payments.drop_events = body.drop
    return {"drop": body.drop}


@router.get("/journal")
async def journal(sandbox: SandboxDep, service: ServiceFilter) -> dict[str, Any]:
    return {"calls": sandbox.journal.calls(service)}


@router.delete("/journal")
async def clear_journal(sandbox: SandboxDep) -> dict[str, Any]:
    sandbox.journal.clear()
    return {"calls": []}
