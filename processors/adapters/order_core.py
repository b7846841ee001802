"""order-core behind the `OrderStore` port: read an order's fields, write
`external_meter_ride_id` guarded by the revision read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from processors.adapters.http_peer import HttpPeer
from processors.meters.domain import Performer
from processors.meters.ports import OrderSnapshot

PEER = "order-core"
FIELDS = ["performer", "country", "price", "external_meter_ride_id"]
_PATH = "/internal/processing/v1/order-proc"


def _snapshot(order_id: str, answer: dict[str, Any]) -> OrderSnapshot:
    document = answer["document"]
    performer = document["performer"]
    price = document.get("price")
    return OrderSnapshot(
        order_id=order_id,
        performer=Performer(str(performer["park_id"]), str(performer["driver_profile_id"])),
        car_id=str(performer["car_id"]) if performer.get("car_id") else None,
        country=document.get("country"),
        price=Decimal(str(price)) if price is not None else None,
        external_meter_ride_id=document.get("external_meter_ride_id") or None,
        revision=dict(answer["revision"]),
    )


class HttpOrderStore:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._http = HttpPeer(client, PEER, base_url, timeout_s)

    async def get_order(self, order_id: str) -> OrderSnapshot:
        return await self._http.post(
            "get_fields",
            f"{_PATH}/get-fields",
            {"fields": FIELDS},
            lambda answer: _snapshot(order_id, answer),
            params={"order_id": order_id},
        )

    async def set_external_meter_ride_id(
        self, order_id: str, revision: dict[str, Any], meter_ride_id: str
    ) -> None:
        await self._http.post(
            "set_fields",
            f"{_PATH}/set-fields",
            {"revision": revision, "update": {"$set": {"external_meter_ride_id": meter_ride_id}}},
            lambda _: None,
            params={"order_id": order_id},
        )
