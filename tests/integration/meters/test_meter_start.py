"""Starting the meter through real HTTP, Kafka, PostgreSQL and the sandbox (contract 3.2):
the happy path, every row of the failure table, repeats, cancels and skips."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.conftest import wait_for
from tests.integration.meters.conftest import Meters


def test_started_meter_has_permit_number_and_price_and_the_order_and_app_know(
    meters: Meters,
) -> None:
    ride = meters.new_ride()

    row = meters.start(ride)

    assert row["state"] == "started"
    order = meters.order(ride)
    meter_ride = order["meter_ride"]
    assert meter_ride["status"] == "running"
    assert meter_ride["permit_number"] == ride.permit_number
    assert meter_ride["price"] == {"amount": "48.50", "currency": "ILS"}
    [start_call] = meters.calls("monitex", "/v0.2/rides")
    assert start_call["body"]["driver_id_number"] == ride.id_number
    assert start_call["body"]["external_id"] == ride.order_id
    assert order["document"]["external_meter_ride_id"] == meter_ride["ride_id"]
    assert order["setcar"] == {"is_external_meter_run": True}
    assert row["meter_ride_id"] == meter_ride["ride_id"]
    assert meters.calls("client-notify") == []


@dataclass(frozen=True)
class Row:
    """One row of the failure table and what the driver and peers must see after it."""

    service: str
    operation: str
    step: str
    setcar: bool | None  # the last is_external_meter_run sent, None = setcar untouched
    push: bool
    meter_ride: str | None  # the vendor ride's status afterwards, None = no ride
    order_written: bool


FAILURE_TABLE = [
    Row("monitex", "/v0.2/rides", "meter_start", False, True, None, False),
    Row("order-core", "get-fields", "order_core_read", None, False, None, False),
    Row("order-core", "set-fields", "order_core_write", False, True, "cancelled", False),
    Row("fleet-vehicles", "*", "fleet_vehicles", False, True, None, False),
    Row("driver-profiles", "*", "driver_profiles", False, True, None, False),
    Row("personal", "*", "personal", False, True, None, False),
    Row("driver-orders-builder", "*", "driver_orders_builder", None, False, "running", True),
]


@pytest.mark.parametrize("row", FAILURE_TABLE, ids=[r.step for r in FAILURE_TABLE])
def test_failure_table_row(meters: Meters, row: Row) -> None:
    ride = meters.new_ride()
    meters.fault(row.service, row.operation)

    state = meters.start(ride)

    assert (state["state"], state["failed_step"]) == ("failed", row.step)
    order = meters.order(ride)
    setcar = (order["setcar"] or {}).get("is_external_meter_run")
    assert setcar is row.setcar
    pushes = [c for c in meters.calls("client-notify", "/v2/push") if c["status"] == 200]
    assert [p["body"]["client_id"] for p in pushes] == ([ride.client_id] if row.push else [])
    if row.push:
        assert pushes[0]["body"]["intent"] == "external_meter_failed"
    meter_ride = order["meter_ride"]
    assert (meter_ride["status"] if meter_ride else None) == row.meter_ride
    assert ("external_meter_ride_id" in order["document"]) is row.order_written
    # No retry against the vendor, whatever failed.
    assert len(meters.calls("monitex", "/v0.2/rides")) <= 1


def test_client_notify_down_loses_only_the_push(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.fault("monitex", "/v0.2/rides")
    meters.fault("client-notify")

    state = meters.start(ride)

    assert (state["state"], state["failed_step"]) == ("failed", "meter_start")
    assert meters.order(ride)["setcar"] == {"is_external_meter_run": False}
    [push] = meters.calls("client-notify", "/v2/push")
    assert push["status"] == 500


def test_client_notify_down_does_not_touch_a_start(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.fault("client-notify")

    assert meters.start(ride)["state"] == "started"
    assert meters.calls("client-notify") == []


def test_repeated_ride_started_starts_one_vendor_ride(meters: Meters) -> None:
    ride = meters.new_ride()
    for _ in range(3):
        meters.ride_event(ride)

    meters.wait_state(ride, "started")
    wait_for(
        lambda: meters.history(ride).count("repeated_ride_started") == 2,
        what="both repeats handled",
    )
    assert len(meters.calls("monitex", "/v0.2/rides")) == 1
    assert len(meters.calls("driver-orders-builder")) == 1


def test_ride_cancelled_cancels_the_running_meter_ride(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.start(ride)

    meters.ride_event(ride, "ride_cancelled")

    meters.wait_state(ride, "cancelled")
    assert meters.order(ride)["meter_ride"]["status"] == "cancelled"
    assert len(meters.calls("monitex", "/cancel")) == 1


def test_other_countries_are_skipped_and_counted(meters: Meters) -> None:
    ride = meters.new_ride(country="RUS")
    labels = {"event": "ride_started", "reason": "country"}
    before = meters.worker_metric("meter_ride_events_skipped_total", labels)

    meters.ride_event(ride, country="RUS")

    wait_for(
        lambda: meters.worker_metric("meter_ride_events_skipped_total", labels) > before,
        what="skip counted",
    )
    assert meters.state(ride) is None
    assert meters.journal("order-core") == []
    assert meters.journal("monitex") == []
