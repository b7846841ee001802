"""The ingress's meter routes with a fake gateway: what is published, how replies and
failures become HTTP answers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from ingress.bootstrap import build_resources
from ingress.dependencies import _gateway
from ingress.errors import install_error_handlers
from ingress.kafka_gateway import BrokerUnavailable, ReplyTimeout
from ingress.routes import driver_meters, ride_events
from ingress.settings import IngressSettings
from messaging.topics import METER_REQUESTS, RIDE_EVENTS
from schemas.envelope import Reply
from tests.unit.ingress.fakes import FakeGateway

FINISH = "/driver/v1/meters-integration-api/finish-ride"
HEADERS = {"X-YaTaxi-Park-Id": "p-1", "X-YaTaxi-Driver-Profile-Id": "d-1"}
SERVICE = {"Authorization": "Bearer test-internal-key"}
EVENT = {
    "event_id": "ev-1",
    "event": "ride_started",
    "order_id": "o-1",
    "occurred_at": "2026-11-22T10:00:00Z",
    "country": "ISR",
    "park_id": "p-1",
    "driver_profile_id": "d-1",
    "price": 48.5,
    "currency": "ILS",
}


FINISHED = Reply.success(
    {"order_id": "o-1", "price": 52.3, "currency": "ILS", "meter_ride_id": "r-1"}
)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway(FINISHED)


@pytest.fixture
async def client(gateway: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(driver_meters.router)
    app.include_router(ride_events.router)
    app.dependency_overrides[_gateway] = lambda: gateway
    settings = IngressSettings(
        finish_ride_timeout=10.0, internal_keys="order-events=test-internal-key"
    )
    app.state.resources = build_resources(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ingress"
    ) as c:
        yield c


async def test_ride_event_is_published_keyed_by_order(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    response = await client.post("/internal/v1/ride-events", json=EVENT, headers=SERVICE)
    assert (response.status_code, response.json()) == (202, {"event_id": "ev-1"})
    [(topic, key, value)] = gateway.messages()
    assert (topic, key, value["order_id"]) == (RIDE_EVENTS, "o-1", "o-1")


async def test_ride_event_with_broker_down_is_503(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    gateway.reply = BrokerUnavailable("down")
    response = await client.post("/internal/v1/ride-events", json=EVENT, headers=SERVICE)
    assert response.status_code == 503
    assert response.headers["Retry-After"]


async def test_finish_publishes_the_caller_and_answers_the_meters_price(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    response = await client.post(FINISH, json={"order_id": "o-1", "price": 48.5}, headers=HEADERS)
    assert response.status_code == 200
    assert response.json() == {
        "order_id": "o-1",
        "price": 52.3,
        "currency": "ILS",
        "meter_ride_id": "r-1",
    }
    [(topic, key, value)] = gateway.messages()
    assert (topic, key) == (METER_REQUESTS, "o-1")
    assert value == {
        "order_id": "o-1",
        "price": "48.5",
        "park_id": "p-1",
        "driver_profile_id": "d-1",
    }
    assert gateway.timeouts == [10.0]


@pytest.mark.parametrize(
    "headers", [{}, {"X-YaTaxi-Park-Id": "p-1"}, {"X-YaTaxi-Driver-Profile-Id": "d-1"}]
)
async def test_finish_without_identity_is_401_even_with_a_bad_body(
    client: httpx.AsyncClient, gateway: FakeGateway, headers: dict[str, str]
) -> None:
    response = await client.post(FINISH, json={"price": -1}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert gateway.published == []


async def test_finish_with_a_bad_body_is_422(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    response = await client.post(FINISH, json={"order_id": "o-1", "price": -1}, headers=HEADERS)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert gateway.published == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("not_order_performer", 403),
        ("meter_ride_not_found", 404),
        ("meter_unavailable", 502),
        ("order_core_unavailable", 503),
    ],
)
async def test_finish_errors_from_the_processor(
    client: httpx.AsyncClient, gateway: FakeGateway, code: str, status: int
) -> None:
    gateway.reply = Reply.failure(code, "m")
    response = await client.post(FINISH, json={"order_id": "o-1", "price": 1}, headers=HEADERS)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_finish_timeout_is_504_and_broker_down_503(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    gateway.reply = ReplyTimeout("late")
    response = await client.post(FINISH, json={"order_id": "o-1", "price": 1}, headers=HEADERS)
    assert (response.status_code, response.json()["code"]) == (504, "timeout")
    gateway.reply = BrokerUnavailable("down")
    response = await client.post(FINISH, json={"order_id": "o-1", "price": 1}, headers=HEADERS)
    assert (response.status_code, response.json()["code"]) == (503, "unavailable")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-internal-key"}],
)
async def test_a_ride_event_without_a_valid_service_key_is_401_and_not_published(
    client: httpx.AsyncClient, gateway: FakeGateway, headers: dict[str, str]
) -> None:
    response = await client.post("/internal/v1/ride-events", json=EVENT, headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert gateway.published == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": 100000.01}, "body.price"),
        ({"price": -0.01}, "body.price"),
        ({"price": 1e30}, "body.price"),
        ({"price": "NaN"}, "body.price"),
        ({"currency": "ils"}, "body.currency"),
        ({"order_id": "o" * 65}, "body.order_id"),
        ({"event_id": ""}, "body.event_id"),
        ({"park_id": "p\x00"}, "body.park_id"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
async def test_a_ride_event_out_of_bounds_is_422_and_not_published(
    client: httpx.AsyncClient, gateway: FakeGateway, change: dict[str, object], field: str
) -> None:
    response = await client.post(
        "/internal/v1/ride-events", json={**EVENT, **change}, headers=SERVICE
    )
    assert response.status_code == 422, response.text
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert gateway.published == []


async def test_ride_event_prices_at_the_bounds_are_taken(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    for price in (0, 100000):
        response = await client.post(
            "/internal/v1/ride-events", json={**EVENT, "price": price}, headers=SERVICE
        )
        assert response.status_code == 202
    assert len(gateway.published) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"X-YaTaxi-Park-Id": "p" * 65, "X-YaTaxi-Driver-Profile-Id": "d-1"},
        {"X-YaTaxi-Park-Id": "p-1", "X-YaTaxi-Driver-Profile-Id": "d 1"},
        {"X-YaTaxi-Park-Id": "p/1", "X-YaTaxi-Driver-Profile-Id": "d-1"},
        {b"X-YaTaxi-Park-Id": b"p-1", b"X-YaTaxi-Driver-Profile-Id": "d\u00e9".encode()},
    ],
)
async def test_finish_with_malformed_identity_headers_is_400(
    client: httpx.AsyncClient, gateway: FakeGateway, headers: dict[str, str] | dict[bytes, bytes]
) -> None:
    response = await client.post(FINISH, json={"order_id": "o-1", "price": 1}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    assert gateway.published == []


async def test_finish_with_a_control_character_in_the_order_id_is_422(
    client: httpx.AsyncClient, gateway: FakeGateway
) -> None:
    body = {"order_id": "o-1\u0000", "price": 1}
    response = await client.post(FINISH, json=body, headers=HEADERS)
    assert response.status_code == 422
    assert gateway.published == []
