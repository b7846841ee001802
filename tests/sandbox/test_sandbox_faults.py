"""Injected faults: error, timeout and slow, counted down, by path suffix or `*`,
journaled with the status the caller got."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.sandbox.bodies import PUSH, PUSH_BODY

Json = dict[str, Any]
Journal = Callable[..., Awaitable[list[Json]]]


async def add_fault(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    response = await client.post("/_sandbox/faults", json=body)
    assert response.status_code == 200, response.text
    return response


async def test_error_fault_answers_500_then_counts_down(
    client: httpx.AsyncClient, journal: Journal
) -> None:
    await add_fault(client, service="client-notify", operation="/push", mode="error", times=2)

    answers = [await client.post(PUSH, json=PUSH_BODY) for _ in range(3)]

    assert [a.status_code for a in answers] == [500, 500, 200]
    assert answers[0].json()["code"] == "injected_fault"
    assert [c["status"] for c in await journal("client-notify")] == [500, 500, 200]
    assert (await client.get("/_sandbox/faults")).json()["faults"] == []


async def test_fault_without_times_stays_until_deleted(client: httpx.AsyncClient) -> None:
    await add_fault(client, service="client-notify", operation="*", mode="error", times=None)

    assert [(await client.post(PUSH, json=PUSH_BODY)).status_code for _ in range(3)] == [500] * 3
    cleared = await client.delete("/_sandbox/faults")
    assert cleared.status_code == 200
    assert (await client.post(PUSH, json=PUSH_BODY)).status_code == 200


async def test_operation_matches_path_suffix_of_that_service_only(
    client: httpx.AsyncClient, add_driver: Callable[..., Awaitable[Json]]
) -> None:
    await add_driver()
    await add_fault(client, service="monitex", operation="/finish", mode="error")
    headers = {"X-Api-Key": "test-monitex-key"}
    start = {
        "external_id": "o-1",
        "permit_number": "PERMIT-77",
        "driver_id_number": "ID-123456789",
        "price": {"amount": "48.50", "currency": "ILS"},
    }

    started = await client.post("/monitex/v0.2/rides", json=start, headers=headers)
    ride_id = started.json()["ride_id"]
    finished = await client.post(
        f"/monitex/v0.2/rides/{ride_id}/finish", json={"price": start["price"]}, headers=headers
    )
    pushed = await client.post(PUSH, json=PUSH_BODY)

    assert started.status_code == 200
    assert finished.status_code == 500
    assert pushed.status_code == 200


async def test_timeout_fault_hangs_then_answers_504(
    client: httpx.AsyncClient, journal: Journal
) -> None:
    await add_fault(client, service="client-notify", operation="*", mode="timeout", times=1)

    started = time.monotonic()
    hung = await client.post(PUSH, json=PUSH_BODY)
    elapsed = time.monotonic() - started

    assert hung.status_code == 504
    assert elapsed >= 0.3
    assert (await client.post(PUSH, json=PUSH_BODY)).status_code == 200
    assert [c["status"] for c in await journal("client-notify")] == [504, 200]


async def test_slow_fault_delays_then_serves(client: httpx.AsyncClient, journal: Journal) -> None:
    await add_fault(client, service="client-notify", operation="/v2/push", mode="slow", times=1)

    started = time.monotonic()
    slow = await client.post(PUSH, json=PUSH_BODY)
    elapsed = time.monotonic() - started

    assert slow.status_code == 200
    assert "notification_id" in slow.json()
    assert elapsed >= 0.2
    assert [c["status"] for c in await journal("client-notify")] == [200]


async def test_first_matching_rule_wins(client: httpx.AsyncClient) -> None:
    await add_fault(client, service="client-notify", operation="/push", mode="error", times=1)
    await add_fault(client, service="client-notify", operation="*", mode="timeout", times=1)

    first = await client.post(PUSH, json=PUSH_BODY)
    second = await client.post(PUSH, json=PUSH_BODY)

    assert (first.status_code, second.status_code) == (500, 504)


async def test_invalid_fault_is_422_in_contract_shape(client: httpx.AsyncClient) -> None:
    unknown_service = await client.post(
        "/_sandbox/faults", json={"service": "nope", "operation": "*", "mode": "error"}
    )
    bad_mode = await client.post(
        "/_sandbox/faults", json={"service": "monitex", "operation": "*", "mode": "explode"}
    )

    for response in (unknown_service, bad_mode):
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"
        assert set(response.json()) == {"code", "message", "details"}
