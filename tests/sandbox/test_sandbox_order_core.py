"""The fake order-core: projected reads and revision-guarded writes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Json = dict[str, Any]
GET = "/order-core/internal/processing/v1/order-proc/get-fields"
SET = "/order-core/internal/processing/v1/order-proc/set-fields"


@pytest.fixture(autouse=True)
async def order(add_order: Callable[..., Awaitable[Json]]) -> None:
    await add_order()


async def test_get_all_fields(client: httpx.AsyncClient) -> None:
    response = await client.post(GET, params={"order_id": "o-1"}, json={"fields": []})

    assert response.status_code == 200
    assert response.json() == {
        "document": {
            "_id": "o-1",
            "performer": {"park_id": "p-1", "driver_profile_id": "d-1", "car_id": "c-1"},
            "country": "ISR",
            "price": 48.5,
        },
        "revision": {"order.version": 1},
    }


async def test_get_requested_fields_only(client: httpx.AsyncClient) -> None:
    response = await client.post(
        GET, params={"order_id": "o-1"}, json={"fields": ["performer.park_id", "country"]}
    )

    assert set(response.json()["document"]) == {"_id", "performer", "country"}


async def test_set_fields_applies_and_bumps_revision(client: httpx.AsyncClient) -> None:
    written = await client.post(
        SET,
        params={"order_id": "o-1"},
        json={
            "revision": {"order.version": 1},
            "update": {"$set": {"external_meter_ride_id": "mtx-1"}},
        },
    )
    read = await client.post(GET, params={"order_id": "o-1"}, json={"fields": []})

    assert written.status_code == 200
    assert written.json() == {"revision": {"order.version": 2}}
    assert read.json()["document"]["external_meter_ride_id"] == "mtx-1"
    assert read.json()["revision"] == {"order.version": 2}
    control = (await client.get("/_sandbox/orders/o-1")).json()
    assert control["document"]["external_meter_ride_id"] == "mtx-1"


async def test_stale_revision_is_409(client: httpx.AsyncClient) -> None:
    body = {"revision": {"order.version": 1}, "update": {"$set": {"x": 1}}}
    await client.post(SET, params={"order_id": "o-1"}, json=body)

    stale = await client.post(SET, params={"order_id": "o-1"}, json=body)

    assert stale.status_code == 409
    assert stale.json()["code"] == "revision_mismatch"


async def test_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    read = await client.post(GET, params={"order_id": "nope"}, json={"fields": []})
    write = await client.post(
        SET,
        params={"order_id": "nope"},
        json={"revision": {"order.version": 1}, "update": {"$set": {}}},
    )

    assert read.status_code == write.status_code == 404
    assert read.json()["code"] == "order_not_found"
