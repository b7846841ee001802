"""The fake Monitex meter: API key, identity checks, idempotent start, finish price, cancel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

Json = dict[str, Any]
RIDES = "/monitex/v0.2/rides"
KEY = {"X-Api-Key": "test-monitex-key"}
PRICE = {"amount": "48.50", "currency": "ILS"}


def start_body(**overrides: Any) -> Json:
    body: Json = {
        "external_id": "o-1",
        "permit_number": "PERMIT-77",
        "driver_id_number": "ID-123456789",
        "price": PRICE,
    }
    body.update(overrides)
    return body


@pytest.fixture
async def world(
    add_driver: Callable[..., Awaitable[Json]], add_order: Callable[..., Awaitable[Json]]
) -> None:
    await add_driver()
    await add_order()


@pytest.mark.usefixtures("world")
async def test_wrong_or_missing_api_key_is_401(client: httpx.AsyncClient) -> None:
    missing = await client.post(RIDES, json=start_body())
    wrong = await client.post(RIDES, json=start_body(), headers={"X-Api-Key": "nope"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["code"] == "unauthorized"


@pytest.mark.usefixtures("world")
async def test_start_is_idempotent_by_external_id(client: httpx.AsyncClient) -> None:
    first = await client.post(RIDES, json=start_body(), headers=KEY)
    again = await client.post(RIDES, json=start_body(), headers=KEY)

    assert first.status_code == 200
    assert first.json()["status"] == "running"
    assert again.json() == first.json()
    order = (await client.get("/_sandbox/orders/o-1")).json()
    assert order["meter_ride"]["ride_id"] == first.json()["ride_id"]
    assert order["meter_ride"]["price"] == PRICE


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"permit_number": "PERMIT-other"}, "permit_mismatch"),
        ({"driver_id_number": "ID-other"}, "driver_mismatch"),
    ],
)
async def test_start_with_wrong_identity_is_400(
    client: httpx.AsyncClient, overrides: Json, code: str
) -> None:
    response = await client.post(RIDES, json=start_body(**overrides), headers=KEY)

    assert response.status_code == 400
    assert response.json()["code"] == code


@pytest.mark.usefixtures("world")
async def test_finish_returns_the_orders_meter_price_and_repeats(client: httpx.AsyncClient) -> None:
    ride_id = (await client.post(RIDES, json=start_body(), headers=KEY)).json()["ride_id"]

    first = await client.post(f"{RIDES}/{ride_id}/finish", json={"price": PRICE}, headers=KEY)
    again = await client.post(
        f"{RIDES}/{ride_id}/finish", json={"price": {"amount": "1", "currency": "ILS"}}, headers=KEY
    )

    assert first.status_code == 200
    assert first.json() == {
        "ride_id": ride_id,
        "status": "finished",
        "meter_price": {"amount": "52.30", "currency": "ILS"},
    }
    assert again.json() == first.json()
    cancel = await client.post(f"{RIDES}/{ride_id}/cancel", headers=KEY)
    assert cancel.status_code == 409


async def test_finish_without_meter_price_falls_back_to_given_price(
    client: httpx.AsyncClient,
    add_driver: Callable[..., Awaitable[Json]],
    add_order: Callable[..., Awaitable[Json]],
) -> None:
    await add_driver()
    await add_order(meter_price=None)
    ride_id = (await client.post(RIDES, json=start_body(), headers=KEY)).json()["ride_id"]

    finished = await client.post(
        f"{RIDES}/{ride_id}/finish",
        json={"price": {"amount": 61.5, "currency": "ILS"}},
        headers=KEY,
    )

    assert finished.json()["meter_price"] == {"amount": "61.50", "currency": "ILS"}


@pytest.mark.usefixtures("world")
async def test_cancel_then_finish_is_409(client: httpx.AsyncClient) -> None:
    ride_id = (await client.post(RIDES, json=start_body(), headers=KEY)).json()["ride_id"]

    cancelled = await client.post(f"{RIDES}/{ride_id}/cancel", headers=KEY)
    cancelled_again = await client.post(f"{RIDES}/{ride_id}/cancel", headers=KEY)
    finished = await client.post(f"{RIDES}/{ride_id}/finish", json={"price": PRICE}, headers=KEY)

    assert cancelled.json() == {"ride_id": ride_id, "status": "cancelled"}
    assert cancelled_again.status_code == 200
    assert finished.status_code == 409
    order = (await client.get("/_sandbox/orders/o-1")).json()
    assert order["meter_ride"]["status"] == "cancelled"


@pytest.mark.usefixtures("world")
async def test_unknown_ride_is_404(client: httpx.AsyncClient) -> None:
    finish = await client.post(f"{RIDES}/nope/finish", json={"price": PRICE}, headers=KEY)
    cancel = await client.post(f"{RIDES}/nope/cancel", headers=KEY)

    assert finish.status_code == cancel.status_code == 404
    assert finish.json()["code"] == "ride_not_found"
