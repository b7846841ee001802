"""Fixtures for the sandbox tests: an app with the in-memory event publisher and
short fault delays, a client talking to it in-process, and setup helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.events import InMemoryPaymentEventPublisher
from sandbox.settings import Settings

MONITEX_KEY = "test-monitex-key"

Json = dict[str, Any]


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        monitex_api_key=MONITEX_KEY,
        sandbox_fault_timeout_seconds=0.3,
        sandbox_fault_slow_seconds=0.2,
        sandbox_reject_delay_seconds=0.05,
    )


@pytest.fixture
def publisher() -> InMemoryPaymentEventPublisher:
    return InMemoryPaymentEventPublisher()


@pytest.fixture
async def client(
    settings: Settings, publisher: InMemoryPaymentEventPublisher
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, publisher)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def _control(client: httpx.AsyncClient, path: str, body: Json) -> Json:
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


@pytest.fixture
def add_driver(client: httpx.AsyncClient) -> Callable[..., Awaitable[Json]]:
    async def _add(**overrides: Any) -> Json:
        body: Json = {
            "park_id": "p-1",
            "driver_profile_id": "d-1",
            "balance": 100_000,
            "currency": "RUB",
            "qr_code": "QR-d-1",
            "acceptance": "auto",
            "id_number": "ID-123456789",
            "car_id": "c-1",
            "permit_number": "PERMIT-77",
            "blocked": False,
        }
        return await _control(client, "/_sandbox/drivers", body | overrides)

    return _add


@pytest.fixture
def add_order(client: httpx.AsyncClient) -> Callable[..., Awaitable[Json]]:
    async def _add(**overrides: Any) -> Json:
        body: Json = {
            "order_id": "o-1",
            "park_id": "p-1",
            "driver_profile_id": "d-1",
            "car_id": "c-1",
            "country": "ISR",
            "price": 48.5,
            "meter_price": 52.3,
        }
        return await _control(client, "/_sandbox/orders", body | overrides)

    return _add


@pytest.fixture
def journal(client: httpx.AsyncClient) -> Callable[..., Awaitable[list[Json]]]:
    async def _calls(service: str | None = None) -> list[Json]:
        params = {"service": service} if service else {}
        response = await client.get("/_sandbox/journal", params=params)
        assert response.status_code == 200, response.text
        calls: list[Json] = response.json()["calls"]
        return calls

    return _calls
