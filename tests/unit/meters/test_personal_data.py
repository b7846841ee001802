"""The identity document number goes to the meter vendor and nowhere else: not in a
log line, the meter state, an exception, nor the metrics (contract 3.4)."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest
from prometheus_client import generate_latest
from structlog.testing import capture_logs

from processors.meters.errors import PeerUnavailable
from processors.meters.ports import IdentityNumber
from tests.unit.meters.conftest import MakeEvent
from tests.unit.meters.fakes import World

DOWN = PeerUnavailable("peer", "op", "timeout")


def test_identity_number_never_prints() -> None:
    number = IdentityNumber("ID-SECRET-1")
    assert "ID-SECRET-1" not in repr(number)
    assert "ID-SECRET-1" not in f"{number} {number!r}"
    with pytest.raises(TypeError):
        pickle.dumps(number)


async def test_starts_failing_at_every_step_leave_no_number_behind(
    world: World, make_event: MakeEvent, caplog: pytest.LogCaptureFixture
) -> None:
    def fail_push() -> None:
        world.notifier.fail = world.meter.fail_start = DOWN

    failures: dict[str, Callable[[], None]] = {
        "ok": lambda: None,
        "meter": lambda: setattr(world.meter, "fail_start", DOWN),
        "write": lambda: setattr(world.orders, "fail_write", DOWN),
        "setcar": lambda: setattr(world.driver_orders, "fail", DOWN),
        "push": fail_push,
    }
    numbers = []
    events = world.ride_events()
    with capture_logs() as entries:
        for n, (name, inject) in enumerate(failures.items()):
            number = f"PII-{n}-4242{n}9"
            numbers.append(number)
            park, driver, order = f"p-{name}", f"d-{name}", f"o-{name}"
            world.add_driver(park, driver, car_id="c", permit=f"PERMIT-{n}", id_number=number)
            world.add_order(order, park, driver, "c")
            world.meter.fail_start = world.orders.fail_write = None
            world.driver_orders.fail = world.notifier.fail = None
            inject()
            await events.start(make_event(order_id=order, park_id=park, driver_profile_id=driver))
            await events(
                make_event("ride_cancelled", order_id=order, park_id=park, driver_profile_id=driver)
            )

    sent_to_vendor = {ride.driver_id_number for ride in world.meter.started_rides()}
    assert set(numbers) & sent_to_vendor  # the vendor did get them
    logs = repr(entries) + caplog.text
    assert "meter_start_failed" in logs
    stored = repr(world.states.records) + repr(world.states.history)
    metrics = generate_latest().decode()
    for number in numbers:
        assert number not in logs
        assert number not in stored
        assert number not in metrics
