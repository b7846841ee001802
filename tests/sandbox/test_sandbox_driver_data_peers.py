"""fleet-vehicles, driver-profiles, personal, driver-orders-builder and client-notify."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

Json = dict[str, Any]
AddDriver = Callable[..., Awaitable[Json]]


async def test_fleet_vehicles_returns_permit_of_known_cars_only(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver()

    response = await client.post(
        "/fleet-vehicles/v1/vehicles/retrieve",
        json={"id_in_set": ["p-1_c-1", "p-1_c-unknown"], "projection": ["data.permit_num"]},
    )

    assert response.status_code == 200
    assert response.json() == {
        "vehicles": [{"park_id_car_id": "p-1_c-1", "data": {"permit_num": "PERMIT-77"}}]
    }


async def test_identity_number_travels_through_an_opaque_pd_id(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver()

    profiles = await client.post(
        "/driver-profiles/v1/identity-docs/retrieve_by_park_driver_profile_id",
        json={"park_driver_profile_ids": ["p-1_d-1", "p-1_unknown"]},
    )
    [profile] = profiles.json()["profiles"]
    [doc] = profile["data"]
    personal = await client.post(
        "/personal/v1/identifications/retrieve", json={"id": doc["number_pd_id"]}
    )

    assert profile["park_driver_profile_id"] == "p-1_d-1"
    assert doc["type"] == "passport"
    assert "123456789" not in doc["number_pd_id"]
    assert personal.json() == {"id": doc["number_pd_id"], "value": "ID-123456789"}


async def test_personal_unknown_id_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/personal/v1/identifications/retrieve", json={"id": "pd-x"})

    assert response.status_code == 404


async def test_driver_without_document_has_no_docs(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(id_number=None)

    response = await client.post(
        "/driver-profiles/v1/identity-docs/retrieve_by_park_driver_profile_id",
        json={"park_driver_profile_ids": ["p-1_d-1"]},
    )

    assert response.json() == {"profiles": [{"park_driver_profile_id": "p-1_d-1", "data": []}]}


async def test_setcar_changes_are_kept_per_order(
    client: httpx.AsyncClient, add_order: Callable[..., Awaitable[Json]]
) -> None:
    await add_order()
    base = {"park_id": "p-1", "driver_profile_id": "d-1", "order_id": "o-1"}

    first = await client.post(
        "/driver-orders-builder/v1/setcar/update-lite",
        json={**base, "changes": {"is_external_meter_run": True}},
    )
    await client.post(
        "/driver-orders-builder/v1/setcar/update-lite",
        json={**base, "changes": {"is_external_meter_run": False}},
    )

    assert first.status_code == 200
    assert first.json() == {}
    order = (await client.get("/_sandbox/orders/o-1")).json()
    assert order["setcar"] == {"is_external_meter_run": False}
    assert order["meter_ride"] is None


async def test_client_notify_accepts_a_push(
    client: httpx.AsyncClient, journal: Callable[..., Awaitable[list[Json]]]
) -> None:
    push = {
        "service": "taximeter",
        "client_id": "p-1-d-1",
        "intent": "external_meter_failed",
        "notification": {"text": "The meter could not be started"},
    }

    response = await client.post("/client-notify/v2/push", json=push)

    assert response.status_code == 200
    assert response.json()["notification_id"]
    [call] = await journal("client-notify")
    assert call["body"] == push
