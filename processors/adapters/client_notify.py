"""client-notify behind the `DriverNotifier` port: pushes to the driver's Pro app."""

from __future__ import annotations

import httpx

from processors.adapters.http_peer import HttpPeer

PEER = "client-notify"
METER_FAILED_TEXT = (
    "The smart meter could not be started for this ride. Please enter the price by hand."
)


class HttpDriverNotifier:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def meter_start_failed(self, park_id: str, driver_profile_id: str, order_id: str) -> None:
        body = {
            "service": "taximeter",
            "client_id": f"{park_id}-{driver_profile_id}",
            "intent": "external_meter_failed",
            "notification": {"text": METER_FAILED_TEXT},
        }
        await self._http.post("push", "/v2/push", body, lambda _: None)
