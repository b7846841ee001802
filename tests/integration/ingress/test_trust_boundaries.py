"""The ingress's trust boundaries on real processes (contract 2, 2.1-2.4, 3.1).

Each test is one finding of the security review: internal routes on the partner port,
unauthenticated ride events, replies routed by the caller's X-Request-Id, unbounded
bodies, inputs that gave 500s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingress.payment_requests import payment_id_for
from messaging.topics import RIDE_EVENTS
from tests.integration.conftest import SERVICE_HEADERS, RunningStack, wait_for
from tests.integration.payments.conftest import Payments

MOBI = {"Authorization": "Bearer test-mobi-key"}
FINISH = "/driver/v1/meters-integration-api/finish-ride"
DRIVER = {"X-YaTaxi-Park-Id": "p-1", "X-YaTaxi-Driver-Profile-Id": "d-1"}


def _tx() -> int:
    return int(uuid.uuid4().int % 10**15) + 1


def _payment(tx: int, qr: str = "qr-unknown", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "transaction_id": tx,
        "qr_code": qr,
        "amount": 100,
        "currency": "RUB",
        "merchant": {"id": "m-1", "name": "Shop", "mcc": "5411"},
        "terminal_id": "T-1",
    }
    return {**body, **changes}


def _ride_event(order_id: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event": "ride_cancelled",
        "order_id": order_id,
        "occurred_at": datetime.now(UTC).isoformat(),
        "country": "ISR",
        "park_id": "p-1",
        "driver_profile_id": "d-1",
        "price": 48.5,
        "currency": "ILS",
    }
    return {**event, **changes}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15) as client:
        yield client


# -- two listeners ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/internal/v1/ride-events"),
        ("POST", "/internal/v1/probe"),
        ("GET", "/metrics"),
        ("POST", FINISH),
    ],
)
async def test_internal_routes_are_404_on_the_partner_listener(
    stack: RunningStack, http: httpx.AsyncClient, method: str, path: str
) -> None:
    answer = await http.request(
        method, f"{stack.ingress_url}{path}", json={}, headers={**SERVICE_HEADERS, **DRIVER}
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


async def test_partner_routes_are_404_on_the_internal_listener(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    answer = await http.post(f"{stack.internal_url}/mobi/v1/payments", json={}, headers=MOBI)
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


async def test_each_listener_describes_only_its_own_routes(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    partner = set((await http.get(f"{stack.ingress_url}/openapi.json")).json()["paths"])
    internal = set((await http.get(f"{stack.internal_url}/openapi.json")).json()["paths"])
    assert partner == {
        "/ping",
        "/health",
        "/mobi/v1/payments",
        "/mobi/v1/payments/{transaction_id}",
        "/mobi/v1/payments/{transaction_id}/cancel",
        "/mobi/v1/payments/{transaction_id}/refunds",
    }
    assert internal == {
        "/ping",
        "/health",
        "/metrics",
        "/internal/v1/probe",
        "/internal/v1/ride-events",
        FINISH,
    }
    for url in (stack.ingress_url, stack.internal_url):
        assert (await http.get(f"{url}/docs")).status_code == 200
        assert (await http.get(f"{url}/ping")).status_code == 200


# -- ride events need a service key ------------------------------------------------------


async def test_a_ride_event_without_a_valid_service_key_is_401_and_nothing_is_published(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap_servers, group_id=None, fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(RIDE_EVENTS, p)
            for p in sorted(consumer.partitions_for_topic(RIDE_EVENTS) or [])
        ] or [TopicPartition(RIDE_EVENTS, p) for p in range(4)]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)

        refused_order, canary_order = f"o-refused-{uuid.uuid4().hex}", f"o-ok-{uuid.uuid4().hex}"
        url = f"{stack.internal_url}/internal/v1/ride-events"
        for headers in ({}, {"Authorization": "Bearer test-mobi-key"}, {"Authorization": "x"}):
            answer = await http.post(url, json=_ride_event(refused_order), headers=headers)
            assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized")
        accepted = await http.post(url, json=_ride_event(canary_order), headers=SERVICE_HEADERS)
        assert accepted.status_code == 202

        seen: list[bytes] = []
        async with asyncio.timeout(15):
            while not any(canary_order.encode() in value for value in seen):
                batches = await consumer.getmany(timeout_ms=500)
                seen += [r.value for records in batches.values() for r in records if r.value]
    finally:
        await consumer.stop()
    assert not any(refused_order.encode() in value for value in seen)


# -- correlation ids are ours ------------------------------------------------------------


async def _sandbox_driver(http: httpx.AsyncClient, stack: RunningStack, acceptance: str) -> str:
    return (await Payments(stack, http).driver(acceptance=acceptance)).qr_code


async def test_two_requests_sharing_an_x_request_id_each_get_their_own_answer(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    shared = {**MOBI, "X-Request-Id": f"same-{uuid.uuid4().hex}"}
    url = f"{stack.ingress_url}/mobi/v1/payments"
    first_tx, second_tx, quick_tx = _tx(), _tx(), _tx()

    # The first waits for its driver past the hold: answered `pending`.
    first = await http.post(
        url, json=_payment(first_tx, await _sandbox_driver(http, stack, "manual")), headers=shared
    )
    assert (first.json()["transaction_id"], first.json()["status"]) == (first_tx, "pending")

    # The second, same X-Request-Id, waits too; meanwhile the first driver accepts, and
    # the first payment's late reply is sent. It must not answer the second request.
    second = asyncio.create_task(
        http.post(
            url,
            json=_payment(second_tx, await _sandbox_driver(http, stack, "manual")),
            headers=shared,
        )
    )
    await asyncio.sleep(0.5)
    accepted = await http.post(
        f"{stack.sandbox_url}/_sandbox/payments/{payment_id_for('mobi', str(first_tx))}/accept"
    )
    assert accepted.status_code == 200, accepted.text
    # A third, same X-Request-Id, approved at once, gets its own answer too.
    quick = await http.post(
        url, json=_payment(quick_tx, await _sandbox_driver(http, stack, "auto")), headers=shared
    )
    assert (quick.json()["transaction_id"], quick.json()["status"]) == (quick_tx, "approved")

    late = await second
    assert (late.json()["transaction_id"], late.json()["status"]) == (second_tx, "pending")
    status = await http.get(f"{url}/{first_tx}", headers=MOBI)
    assert status.json()["status"] == "approved"
    answers = (first, late, quick)
    assert {a.headers["x-request-id"] for a in answers} == {shared["X-Request-Id"]}
    assert len({a.headers["x-correlation-id"] for a in answers}) == 3


# -- admission: body size ----------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, MOBI])
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_200_kib_body_is_413_within_a_second_with_or_without_a_key(
    stack: RunningStack, http: httpx.AsyncClient, headers: dict[str, str], chunked: bool
) -> None:
    body = b'{"qr_code": "' + b"x" * (200 * 1024) + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    started = time.monotonic()
    answer = await http.post(
        f"{stack.ingress_url}/mobi/v1/payments",
        content=stream() if chunked else body,
        headers={**headers, "Content-Type": "application/json"},
    )
    elapsed = time.monotonic() - started
    assert (answer.status_code, answer.json()["code"]) == (413, "payload_too_large")
    assert elapsed < 1.0


async def test_a_100_mb_declared_body_is_refused_before_it_is_read(stack: RunningStack) -> None:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection(*stack.ingress_url[7:].split(":"))
    writer.write(
        b"POST /mobi/v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n" + b"x" * 65536
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 2)
    writer.close()
    assert b" 413 " in status_line
    assert time.monotonic() - started < 1.0


# -- input bounds ------------------------------------------------------------------------

NUL = "a\x00b"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"qr_code": NUL}, "body.qr_code"),
        ({"merchant": {"id": NUL}}, "body.merchant.id"),
        ({"merchant": {"id": "m-1", "name": NUL}}, "body.merchant.name"),
        ({"merchant": {"id": "m-1", "name": "bell\x07"}}, "body.merchant.name"),
        ({"terminal_id": NUL}, "body.terminal_id"),
        ({"terminal_id": "T\x1b[31m"}, "body.terminal_id"),
        ({"surprise": "field"}, "body.surprise"),
        ({"amount": 10**30}, "body.amount"),
        ({"amount": "100"}, "body.amount"),
    ],
)
async def test_a_control_character_or_bad_value_in_an_authorization_is_422(
    stack: RunningStack, http: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await http.post(
        f"{stack.ingress_url}/mobi/v1/payments", json=_payment(_tx(), **change), headers=MOBI
    )
    assert answer.status_code == 422, answer.text
    assert field in [detail["field"] for detail in answer.json()["details"]]


async def test_a_nul_in_a_refund_id_is_422(stack: RunningStack, http: httpx.AsyncClient) -> None:
    answer = await http.post(
        f"{stack.ingress_url}/mobi/v1/payments/{_tx()}/refunds",
        json={"refund_id": NUL, "amount": 1},
        headers=MOBI,
    )
    assert answer.status_code == 422
    assert "body.refund_id" in [detail["field"] for detail in answer.json()["details"]]


@pytest.mark.parametrize("field", ["event_id", "order_id", "park_id", "driver_profile_id"])
async def test_a_nul_in_a_ride_event_id_is_422(
    stack: RunningStack, http: httpx.AsyncClient, field: str
) -> None:
    answer = await http.post(
        f"{stack.internal_url}/internal/v1/ride-events",
        json={**_ride_event("o-1"), field: NUL},
        headers=SERVICE_HEADERS,
    )
    assert answer.status_code == 422
    assert f"body.{field}" in [detail["field"] for detail in answer.json()["details"]]


@pytest.mark.parametrize(
    "change",
    [
        {"price": 100000.01},
        {"price": 1e30},
        {"price": 1e12},
        {"price": -1},
        {"currency": "XX"},
        {"order_id": "o" * 65},
    ],
)
async def test_a_ride_event_out_of_bounds_is_422(
    stack: RunningStack, http: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    answer = await http.post(
        f"{stack.internal_url}/internal/v1/ride-events",
        json={**_ride_event(f"o-{uuid.uuid4().hex[:8]}"), **change},
        headers=SERVICE_HEADERS,
    )
    assert answer.status_code == 422, answer.text


async def test_a_nul_in_the_finish_order_id_is_422(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    answer = await http.post(
        f"{stack.internal_url}{FINISH}", json={"order_id": NUL, "price": 1}, headers=DRIVER
    )
    assert answer.status_code == 422


@pytest.mark.parametrize(
    "headers",
    [
        {"X-YaTaxi-Park-Id": "p" * 129, "X-YaTaxi-Driver-Profile-Id": "d-1"},
        {"X-YaTaxi-Park-Id": "p" * 65, "X-YaTaxi-Driver-Profile-Id": "d-1"},
        {"X-YaTaxi-Park-Id": "p-1", "X-YaTaxi-Driver-Profile-Id": "d 1"},
        {"X-YaTaxi-Park-Id": "p-1", "X-YaTaxi-Driver-Profile-Id": "d;1"},
    ],
)
async def test_long_or_malformed_driver_headers_are_400(
    stack: RunningStack, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await http.post(
        f"{stack.internal_url}{FINISH}", json={"order_id": "o-1", "price": 1}, headers=headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


async def test_oversize_headers_are_431_never_a_5xx(
    stack: RunningStack, http: httpx.AsyncClient
) -> None:
    url = f"{stack.ingress_url}/mobi/v1/payments/{_tx()}"
    fits = await http.get(url, headers={**MOBI, "X-Filler": "f" * 8 * 1024})
    assert fits.status_code == 404  # payment_not_found: the request was served
    for size in (64 * 1024, 1024 * 1024):
        answer = await http.get(url, headers={**MOBI, "X-Filler": "f" * size})
        assert (answer.status_code, answer.json()["code"]) == (
            431,
            "request_header_fields_too_large",
        )


def test_the_access_log_names_the_partner_and_client_never_the_key(stack: RunningStack) -> None:
    marker = f"access-{uuid.uuid4().hex}"
    httpx.get(
        f"{stack.ingress_url}/mobi/v1/payments/{_tx()}",
        headers={**MOBI, "X-Request-Id": marker},
        timeout=10,
    )

    def access_line() -> str | None:
        lines = [line for line in stack.log_text().splitlines() if marker in line]
        return next((line for line in lines if '"http_request"' in line), None)

    line = wait_for(access_line, timeout=10, what="the access log line")
    assert '"partner": "mobi"' in line and '"client": "127.0.0.1"' in line
    assert "test-mobi-key" not in stack.log_text()
