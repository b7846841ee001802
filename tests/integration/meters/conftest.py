"""What the meter integration tests share: a sandbox reset per test, drivers and orders
with unique ids, ride events and finishes over HTTP, the journal, the meter state row."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.conftest import SERVICE_HEADERS, RunningStack, wait_for

FINISH = "/driver/v1/meters-integration-api/finish-ride"
DONE_STATES = ("started", "failed", "finished", "cancelled")


@dataclass(frozen=True)
class Ride:
    order_id: str
    park_id: str
    driver_profile_id: str
    car_id: str
    permit_number: str
    id_number: str

    @property
    def client_id(self) -> str:
        return f"{self.park_id}-{self.driver_profile_id}"

    @property
    def caller(self) -> dict[str, str]:
        return {
            "X-YaTaxi-Park-Id": self.park_id,
            "X-YaTaxi-Driver-Profile-Id": self.driver_profile_id,
        }


def ride_event_body(ride: Ride, event: str = "ride_started", **overrides: Any) -> dict[str, Any]:
    """A ride event of an Israeli ride, as order systems send it."""
    return {
        "event_id": str(uuid.uuid4()),
        "event": event,
        "order_id": ride.order_id,
        # Now: a ride_started older than METER_START_MAX_AGE no longer starts a meter.
        "occurred_at": datetime.now(UTC).isoformat(),
        "country": "ISR",
        "park_id": ride.park_id,
        "driver_profile_id": ride.driver_profile_id,
        "price": 48.5,
        "currency": "ILS",
        **overrides,
    }


class Meters:
    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.sandbox = httpx.Client(base_url=stack.sandbox_url, timeout=10)
        # The driver route and ride events live on the internal listener.
        self.ingress = httpx.Client(base_url=stack.internal_url, timeout=15)

    def close(self) -> None:
        self.sandbox.close()
        self.ingress.close()

    # -- setup ------------------------------------------------------------------------
    def new_ride(
        self, *, country: str = "ISR", id_number: str | None = None, driver: str | None = None
    ) -> Ride:
        tag = uuid.uuid4().hex[:10]
        ride = Ride(
            order_id=f"o-{tag}",
            park_id=f"park-{tag}",
            driver_profile_id=driver or f"drv-{tag}",
            car_id=f"car-{tag}",
            permit_number=f"PERMIT-{tag}",
            id_number=id_number or f"ID-{tag}",
        )
        self.sandbox.post(
            "/_sandbox/drivers",
            json={
                "park_id": ride.park_id,
                "driver_profile_id": ride.driver_profile_id,
                "id_number": ride.id_number,
                "car_id": ride.car_id,
                "permit_number": ride.permit_number,
            },
        ).raise_for_status()
        self.sandbox.post(
            "/_sandbox/orders",
            json={
                "order_id": ride.order_id,
                "park_id": ride.park_id,
                "driver_profile_id": ride.driver_profile_id,
                "car_id": ride.car_id,
                "country": country,
                "price": 48.5,
                "meter_price": 52.3,
            },
        ).raise_for_status()
        return ride

    def fault(self, service: str, operation: str = "*", mode: str = "error") -> None:
        self.sandbox.post(
            "/_sandbox/faults", json={"service": service, "operation": operation, "mode": mode}
        ).raise_for_status()

    # -- acting -----------------------------------------------------------------------
    def ride_event(
        self, ride: Ride, event: str = "ride_started", **overrides: Any
    ) -> httpx.Response:
        body = ride_event_body(ride, event, **overrides)
        response = self.ingress.post("/internal/v1/ride-events", json=body, headers=SERVICE_HEADERS)
        assert response.status_code == 202, response.text
        return response

    def start(self, ride: Ride) -> dict[str, Any]:
        """Send ride_started and wait until the start has ended one way or the other."""
        self.ride_event(ride)
        return self.wait_state(ride, *DONE_STATES)

    def finish(
        self, ride: Ride, price: float = 48.5, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.ingress.post(
            FINISH,
            json={"order_id": ride.order_id, "price": price},
            headers=ride.caller if headers is None else headers,
        )

    # -- observing --------------------------------------------------------------------
    def journal(self, service: str) -> list[dict[str, Any]]:
        response = self.sandbox.get("/_sandbox/journal", params={"service": service})
        response.raise_for_status()
        calls: list[dict[str, Any]] = response.json()["calls"]
        return calls

    def calls(self, service: str, path_suffix: str = "") -> list[dict[str, Any]]:
        return [c for c in self.journal(service) if c["path"].endswith(path_suffix)]

    def order(self, ride: Ride) -> dict[str, Any]:
        response = self.sandbox.get(f"/_sandbox/orders/{ride.order_id}")
        response.raise_for_status()
        order: dict[str, Any] = response.json()
        return order

    def state(self, ride: Ride) -> dict[str, Any] | None:
        row = self.fetch("SELECT * FROM meter_rides WHERE order_id = $1", ride.order_id)
        return row[0] if row else None

    def history(self, ride: Ride) -> list[str]:
        rows = self.fetch(
            "SELECT what FROM meter_ride_history WHERE order_id = $1 ORDER BY id", ride.order_id
        )
        return [r["what"] for r in rows]

    def wait_state(self, ride: Ride, *states: str, timeout: float = 20) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            row = self.state(ride)
            return row if row is not None and row["state"] in states else None

        row: dict[str, Any] = wait_for(reached, timeout=timeout, what=f"meter state in {states}")
        return row

    def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async def run() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.stack.database_url)
            try:
                return [dict(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(run())

    def worker_metric(self, name: str, labels: dict[str, str]) -> float:
        total = 0.0
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        for url in self.stack.worker_urls:
            for line in httpx.get(f"{url}/metrics", timeout=5).text.splitlines():
                if line.startswith(name + "{") and all(w in line for w in wanted):
                    total += float(line.rsplit(" ", 1)[1])
        return total


@pytest.fixture
def meters(stack: RunningStack) -> Iterator[Meters]:
    helper = Meters(stack)
    helper.sandbox.post("/_sandbox/reset").raise_for_status()
    try:
        yield helper
    finally:
        helper.sandbox.delete("/_sandbox/faults")
        helper.close()
