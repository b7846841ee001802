"""A world of fakes with one driver and one order in Israel, and a ride event maker."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from schemas.rides import RideEvent, RideEventType
from tests.unit.meters.fakes import STARTED_AT, World

PARK, DRIVER, CAR = "p-1", "d-1", "c-1"
PERMIT, ID_NUMBER = "PERMIT-0001", "ID-NUMBER-777001"
ORDER = "o-1"

MakeEvent = Callable[..., RideEvent]


@pytest.fixture
def world() -> World:
    w = World()
    w.add_driver(PARK, DRIVER, car_id=CAR, permit=PERMIT, id_number=ID_NUMBER)
    w.add_order(ORDER, PARK, DRIVER, CAR)
    return w


@pytest.fixture
def make_event() -> MakeEvent:
    counter = iter(range(1, 1_000_000))

    def make(event: str = "ride_started", **overrides: Any) -> RideEvent:
        fields: dict[str, Any] = {
            "event_id": f"ev-{next(counter)}",
            "event": RideEventType(event),
            "order_id": ORDER,
            "occurred_at": STARTED_AT,
            "country": "ISR",
            "park_id": PARK,
            "driver_profile_id": DRIVER,
            "price": Decimal("48.5"),
            "currency": "ILS",
        }
        fields.update(overrides)
        return RideEvent(**fields)

    return make
