"""METERS_ROLLOUT in a real worker: a stack of its own with `drivers:` rollout starts the
meter for the listed driver only (the order's driver), and counts the other as skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import RunningStack, wait_for
from tests.integration.meters.conftest import Meters
from tests.integration.own_stack import own_stack

IN_ROLLOUT = "drv-rollout-in"


@pytest.fixture(scope="module")
def rollout_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(
        tmp_path_factory.mktemp("rollout-stack"),
        env={"METERS_ROLLOUT": f"drivers:someone-else,{IN_ROLLOUT}"},
    ) as running:
        yield running


def test_only_drivers_in_the_rollout_get_the_meter(rollout_stack: RunningStack) -> None:
    meters = Meters(rollout_stack)
    try:
        inside = meters.new_ride(driver=IN_ROLLOUT)
        outside = meters.new_ride()
        labels = {"event": "ride_started", "reason": "rollout"}
        before = meters.worker_metric("meter_ride_events_skipped_total", labels)

        meters.ride_event(outside)
        assert meters.start(inside)["state"] == "started"

        wait_for(
            lambda: meters.worker_metric("meter_ride_events_skipped_total", labels) > before,
            what="the other driver's start skipped",
        )
        assert meters.state(outside) is None
        assert meters.order(outside)["meter_ride"] is None
        # The rollout is checked on the order's performer (contract 3.2), so the order
        # is read; nothing else happens for it.
        started_orders = {c["body"]["external_id"] for c in meters.journal("monitex")}
        assert started_orders == {inside.order_id}
        setcar_orders = {c["body"]["order_id"] for c in meters.journal("driver-orders-builder")}
        assert outside.order_id not in setcar_orders
    finally:
        meters.close()
