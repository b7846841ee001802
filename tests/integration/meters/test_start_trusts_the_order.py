"""Contract 3.2 as changed, through real HTTP, Kafka, PostgreSQL and the sandbox: the
order in order-core is the truth. An event naming another driver starts nothing and is
counted; a ride_started older than METER_START_MAX_AGE falls back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.conftest import wait_for
from tests.integration.meters.conftest import Meters

REFUSED = "meter_ride_events_refused_total"


def test_event_naming_another_driver_starts_nothing_and_is_counted(meters: Meters) -> None:
    ride = meters.new_ride()
    other = meters.new_ride()  # a real driver with a car and papers, on another order
    labels = {"event": "ride_started", "reason": "performer_mismatch"}
    before = meters.worker_metric(REFUSED, labels)

    meters.ride_event(ride, park_id=other.park_id, driver_profile_id=other.driver_profile_id)

    wait_for(lambda: meters.worker_metric(REFUSED, labels) > before, what="refusal counted")
    assert meters.journal("monitex") == []
    assert meters.journal("personal") == []
    assert meters.journal("client-notify") == []
    assert meters.journal("driver-orders-builder") == []
    assert meters.order(ride)["meter_ride"] is None
    assert meters.state(ride) is None
    # The order's own driver still gets the meter.
    assert meters.start(ride)["state"] == "started"


def test_five_minute_old_start_falls_back(meters: Meters) -> None:
    ride = meters.new_ride()
    five_minutes_ago = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()

    meters.ride_event(ride, occurred_at=five_minutes_ago)

    state = meters.wait_state(ride, "failed", "started")
    assert (state["state"], state["failed_step"], state["failure_reason"]) == (
        "failed",
        "event_age",
        "too_old",
    )
    assert meters.journal("monitex") == []
    assert meters.order(ride)["setcar"] == {"is_external_meter_run": False}
    [setcar] = meters.calls("driver-orders-builder", "/update-lite")
    assert setcar["body"]["changes"] == {"is_external_meter_run": False}
    [push] = meters.calls("client-notify", "/v2/push")
    assert (push["body"]["client_id"], push["body"]["intent"], push["status"]) == (
        ride.client_id,
        "external_meter_failed",
        200,
    )
