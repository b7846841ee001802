"""The sandbox's in-memory world: drivers, cars, identity documents, orders,
payments and meter rides. Emptied by `POST /_sandbox/reset`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sandbox.peer_models.contractor_merch_payments import PaymentStatus

Acceptance = Literal["auto", "manual", "reject", "never"]
DriverKey = tuple[str, str]  # (park_id, driver_profile_id)


@dataclass
class LedgerEntry:
    kind: Literal["debit", "credit"]
    amount: int
    idempotency_key: str
    payment_id: str
    at: str


@dataclass
class Driver:
    park_id: str
    driver_profile_id: str
    balance: int  # minor units
    currency: str
    qr_code: str | None
    acceptance: Acceptance
    id_number: str | None
    car_id: str | None
    permit_number: str | None
    blocked: bool
    qr_expired: bool
    payment_limit: int | None
    # Opaque id under which `personal` keeps the identity document number.
    number_pd_id: str | None = None
    ledger: list[LedgerEntry] = field(default_factory=list)
    # The ledger's idempotency keys, so posting stays O(1) however long the ledger grows.
    posted_keys: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def key(self) -> DriverKey:
        return (self.park_id, self.driver_profile_id)

    def post(self, entry: LedgerEntry, keep: int | None = None) -> bool:
        """Debit or credit once per idempotency key; False if the key was already posted.

        With `keep`, only about the latest `keep` entries (and their keys) are remembered.
        """
        if len(self.posted_keys) != len(self.ledger):  # a ledger given from outside
            self.posted_keys = {e.idempotency_key for e in self.ledger}
        if entry.idempotency_key in self.posted_keys:
            return False
        self.posted_keys.add(entry.idempotency_key)
        self.ledger.append(entry)
        if keep is not None and len(self.ledger) > 2 * keep:
            # Trimmed in one go now and then, so posting stays O(1) on average.
            dropped = self.ledger[:-keep]
            del self.ledger[:-keep]
            self.posted_keys.difference_update(e.idempotency_key for e in dropped)
        self.balance += entry.amount if entry.kind == "credit" else -entry.amount
        return True


@dataclass
class Refund:
    refund_id: str
    payment_id: str
    amount: int
    refunded_total: int  # the payment's refunded total right after this refund


@dataclass
class Payment:
    payment_id: str
    qr_code: str
    amount: int
    currency: str
    partner: str
    external_id: str
    merchant: dict[str, Any] | None
    driver: DriverKey | None
    status: PaymentStatus
    decline_reason: str | None
    created_at: str
    refunded_total: int = 0
    # Every status the payment went through, in order.
    history: list[str] = field(default_factory=list)


@dataclass
class Order:
    order_id: str
    document: dict[str, Any]
    version: int
    meter_price: Decimal | None


@dataclass
class MeterRide:
    ride_id: str
    external_id: str
    permit_number: str
    driver_id_number: str
    price_amount: Decimal
    price_currency: str
    status: Literal["running", "finished", "cancelled"]
    started_at: datetime
    meter_price_amount: Decimal | None = None
    meter_price_currency: str | None = None


class World:
    """Everything the fake peers know. Plain data; the peers hold the rules."""

    def __init__(self, history_limit: int | None = None) -> None:
        # A long run or a benchmark must not grow the fake without bound: beyond this many
        # payments (and ledger entries per driver), the oldest are forgotten.
        self.history_limit = history_limit
        self.reset()

    def remember_payment(self, payment: Payment) -> None:
        self.payments[payment.payment_id] = payment
        if self.history_limit is not None and len(self.payments) > self.history_limit:
            del self.payments[next(iter(self.payments))]

    def reset(self) -> None:
        self.drivers: dict[DriverKey, Driver] = {}
        self.drivers_by_qr: dict[str, DriverKey] = {}
        self.permits: dict[str, str | None] = {}  # "<park_id>_<car_id>" -> permit number
        self.personal: dict[str, str] = {}  # pd id -> identity document number
        self.orders: dict[str, Order] = {}
        self.setcar: dict[str, dict[str, Any]] = {}  # order_id -> latest value of each change
        self.payments: dict[str, Payment] = {}
        self.refunds: dict[str, Refund] = {}
        self.rides: dict[str, MeterRide] = {}
        self.rides_by_external_id: dict[str, str] = {}
        self.pushes: list[dict[str, Any]] = []

    def upsert_driver(self, driver: Driver) -> Driver:
        """Create or replace a driver, keeping the ledger and document id of the old one."""
        old = self.drivers.get(driver.key)
        if old is not None:
            driver.ledger = old.ledger
            driver.posted_keys = old.posted_keys
            if old.qr_code is not None and self.drivers_by_qr.get(old.qr_code) == old.key:
                del self.drivers_by_qr[old.qr_code]
            if old.id_number == driver.id_number:
                driver.number_pd_id = old.number_pd_id
        if driver.id_number is not None and driver.number_pd_id is None:
            driver.number_pd_id = f"pd-{uuid.uuid4().hex}"
        if driver.number_pd_id is not None and driver.id_number is not None:
            self.personal[driver.number_pd_id] = driver.id_number
        if driver.qr_code is not None:
            self.drivers_by_qr[driver.qr_code] = driver.key
        if driver.car_id is not None:
            self.permits[f"{driver.park_id}_{driver.car_id}"] = driver.permit_number
        self.drivers[driver.key] = driver
        return driver

    def driver_by_qr(self, qr_code: str) -> Driver | None:
        key = self.drivers_by_qr.get(qr_code)
        return self.drivers.get(key) if key is not None else None

    def ride_for_order(self, order_id: str) -> MeterRide | None:
        ride_id = self.rides_by_external_id.get(order_id)
        return self.rides.get(ride_id) if ride_id is not None else None
