"""Monitex, the first smart-meter vendor, behind the `MeterProvider` port.

API v0.2, header `X-Api-Key`; prices as decimal strings (`"48.50"`). A start is
idempotent by `external_id` (our order id), so it is never retried here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from processors.adapters.http_peer import HttpPeer
from processors.meters.domain import Money
from processors.meters.ports import FinishedMeterRide, MeterRide, StartRideCommand

PEER = "monitex"


def _money(price: Money) -> dict[str, str]:
    return {"amount": price.minor_units_text(), "currency": price.currency}


def _ride(answer: dict[str, Any]) -> MeterRide:
    return MeterRide(ride_id=str(answer["ride_id"]), status=str(answer["status"]))


def _finished(answer: dict[str, Any]) -> FinishedMeterRide:
    price = answer["meter_price"]
    return FinishedMeterRide(
        ride_id=str(answer["ride_id"]),
        meter_price=Money(Decimal(str(price["amount"])), str(price["currency"])),
    )


class MonitexMeter:
    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str, timeout_s: float
    ) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s, headers={"X-Api-Key": api_key})

    async def start_ride(self, command: StartRideCommand) -> MeterRide:
        body = {
            "external_id": command.external_id,
            "permit_number": command.permit_number,
            "driver_id_number": command.driver_id_number.reveal(),
            "price": _money(command.price),
        }
        return await self._http.post("start_ride", "/v0.2/rides", body, _ride)

    async def finish_ride(self, ride_id: str, price: Money) -> FinishedMeterRide:
        return await self._http.post(
            "finish_ride", f"/v0.2/rides/{ride_id}/finish", {"price": _money(price)}, _finished
        )

    async def cancel_ride(self, ride_id: str) -> None:
        await self._http.post("cancel_ride", f"/v0.2/rides/{ride_id}/cancel", {}, lambda _: None)
