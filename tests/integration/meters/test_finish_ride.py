"""Finishing the ride from the Pro app through the real system (contract 2.2, 3.3)."""

from __future__ import annotations

import signal
import time

from tests.integration.conftest import RunningStack
from tests.integration.meters.conftest import Meters


def test_finish_answers_the_meters_price_and_a_repeat_the_same(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.start(ride)

    first = meters.finish(ride, price=48.5)
    again = meters.finish(ride, price=48.5)

    assert first.status_code == 200, first.text
    body = first.json()
    meter_ride_id = meters.order(ride)["meter_ride"]["ride_id"]
    assert body == {
        "order_id": ride.order_id,
        "price": 52.3,
        "currency": "ILS",
        "meter_ride_id": meter_ride_id,
    }
    assert (again.status_code, again.json()) == (200, body)
    [finish_call] = meters.calls("monitex", "/finish")
    assert finish_call["body"]["price"] == {"amount": "48.50", "currency": "ILS"}
    row = meters.state(ride)
    assert row is not None and row["state"] == "finished"


def test_finish_by_another_driver_is_403_without_a_vendor_call(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.start(ride)

    response = meters.finish(
        ride,
        headers={"X-YaTaxi-Park-Id": ride.park_id, "X-YaTaxi-Driver-Profile-Id": "someone-else"},
    )

    assert (response.status_code, response.json()["code"]) == (403, "not_order_performer")
    assert meters.calls("monitex", "/finish") == []


def test_finish_without_identity_headers_is_401(meters: Meters) -> None:
    ride = meters.new_ride()
    response = meters.finish(ride, headers={})
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert meters.journal("order-core") == []


def test_finish_without_a_meter_ride_is_404(meters: Meters) -> None:
    ride = meters.new_ride()  # the order exists; no ride_started ever came

    response = meters.finish(ride)

    assert (response.status_code, response.json()["code"]) == (404, "meter_ride_not_found")
    assert meters.calls("monitex", "/finish") == []


def test_finish_when_the_vendor_fails_is_502(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.start(ride)
    meters.fault("monitex", "/finish")

    response = meters.finish(ride)

    assert (response.status_code, response.json()["code"]) == (502, "meter_unavailable")


def test_finish_when_order_core_is_down_is_503(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.start(ride)
    meters.fault("order-core", "get-fields")

    response = meters.finish(ride)

    assert (response.status_code, response.json()["code"]) == (503, "order_core_unavailable")
    assert response.headers.get("Retry-After")
    assert meters.calls("monitex", "/finish") == []


def test_finish_past_the_timeout_is_504(meters: Meters, stack: RunningStack) -> None:
    ride = meters.new_ride()
    meters.start(ride)
    # A worker that stalls (here: stopped) leaves the request unanswered.
    stack.signal("worker-1", signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = meters.finish(ride)
        elapsed = time.monotonic() - started
    finally:
        stack.signal("worker-1", signal.SIGCONT)

    assert (response.status_code, response.json()["code"]) == (504, "timeout")
    assert 3.5 < elapsed < 6  # FINISH_RIDE_TIMEOUT=4 in the test stack
    # The stalled request is handled once the worker runs again; a retry gets the price.
    retry = meters.finish(ride)
    assert (retry.status_code, retry.json()["price"]) == (200, 52.3)


def test_finish_right_after_start_waits_for_the_start(meters: Meters) -> None:
    ride = meters.new_ride()
    meters.fault("monitex", "/v0.2/rides", mode="slow")  # the start takes 1.5 s

    meters.ride_event(ride)
    meters.wait_state(ride, "starting", "started")
    response = meters.finish(ride)

    assert (response.status_code, response.json()["price"]) == (200, 52.3)
