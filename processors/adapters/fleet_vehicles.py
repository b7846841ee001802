"""fleet-vehicles behind the `VehicleRegistry` port: a car's permit number."""

from __future__ import annotations

from typing import Any

import httpx

from processors.adapters.http_peer import HttpPeer
from processors.meters.errors import PeerNotFound

PEER = "fleet-vehicles"
OPERATION = "retrieve"


def _permit(answer: dict[str, Any]) -> str:
    for vehicle in answer["vehicles"]:
        permit = (vehicle.get("data") or {}).get("permit_num")
        if permit:
            return str(permit)
    raise PeerNotFound(PEER, OPERATION, "no_permit")


class HttpVehicleRegistry:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def permit_number(self, park_id: str, car_id: str) -> str:
        body = {"id_in_set": [f"{park_id}_{car_id}"], "projection": ["data.permit_num"]}
        return await self._http.post(OPERATION, "/v1/vehicles/retrieve", body, _permit)
