"""driver-orders-builder behind the `DriverOrders` port: tell the driver's app
(setcar) whether the smart meter runs the ride."""

from __future__ import annotations

import httpx

from processors.adapters.http_peer import HttpPeer

PEER = "driver-orders-builder"


class HttpDriverOrders:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def set_external_meter_run(
        self, park_id: str, driver_profile_id: str, order_id: str, running: bool
    ) -> None:
        body = {
            "park_id": park_id,
            "driver_profile_id": driver_profile_id,
            "order_id": order_id,
            "changes": {"is_external_meter_run": running},
        }
        await self._http.post("setcar_update_lite", "/v1/setcar/update-lite", body, lambda _: None)
