"""The control API: journal order and filter, reset, reads and invalid bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from sandbox.journal import Journal as CallJournal
from sandbox.journal import JournalEntry

Json = dict[str, Any]
Journal = Callable[..., Awaitable[list[Json]]]


async def test_journal_keeps_every_call_in_order_with_bodies_and_queries(
    client: httpx.AsyncClient, add_order: Callable[..., Awaitable[Json]], journal: Journal
) -> None:
    await add_order()
    await client.post(
        "/order-core/internal/processing/v1/order-proc/get-fields",
        params={"order_id": "o-1"},
        json={"fields": ["performer"]},
    )
    await client.post("/personal/v1/identifications/retrieve", json={"id": "pd-unknown"})
    await client.post("/client-notify/v2/push", content=b"not json")

    calls = await journal()

    assert [(c["service"], c["path"], c["status"]) for c in calls] == [
        ("order-core", "/internal/processing/v1/order-proc/get-fields", 200),
        ("personal", "/v1/identifications/retrieve", 404),
        ("client-notify", "/v2/push", 422),
    ]
    assert calls[0]["method"] == "POST"
    assert calls[0]["query"] == {"order_id": "o-1"}
    assert calls[0]["body"] == {"fields": ["performer"]}
    assert calls[1]["body"] == {"id": "pd-unknown"}
    assert calls[2]["body"] == "not json"
    for call in calls:
        assert call["at"].endswith("Z")
        datetime.fromisoformat(call["at"])


async def test_journal_filters_by_service(client: httpx.AsyncClient, journal: Journal) -> None:
    await client.post("/personal/v1/identifications/retrieve", json={"id": "x"})
    await client.post("/fleet-vehicles/v1/vehicles/retrieve", json={"id_in_set": []})

    assert [c["service"] for c in await journal("fleet-vehicles")] == ["fleet-vehicles"]
    assert [c["service"] for c in await journal("personal")] == ["personal"]
    unknown = await client.get("/_sandbox/journal", params={"service": "nope"})
    assert unknown.status_code == 422


async def test_control_calls_are_not_journaled(
    client: httpx.AsyncClient, add_driver: Callable[..., Awaitable[Json]], journal: Journal
) -> None:
    await add_driver()
    await client.get("/_sandbox/drivers/p-1/d-1")

    assert await journal() == []


async def test_unknown_peer_route_is_journaled_as_404(
    client: httpx.AsyncClient, journal: Journal
) -> None:
    response = await client.get("/order-core/nowhere")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert [(c["path"], c["status"]) for c in await journal()] == [("/nowhere", 404)]


async def test_reset_empties_world_journal_and_faults(
    client: httpx.AsyncClient,
    add_driver: Callable[..., Awaitable[Json]],
    add_order: Callable[..., Awaitable[Json]],
    journal: Journal,
) -> None:
    await add_driver()
    await add_order()
    await client.post("/personal/v1/identifications/retrieve", json={"id": "x"})
    await client.post(
        "/_sandbox/faults", json={"service": "personal", "operation": "*", "mode": "error"}
    )

    reset = await client.post("/_sandbox/reset")

    assert reset.status_code == 200
    assert await journal() == []
    assert (await client.get("/_sandbox/faults")).json()["faults"] == []
    assert (await client.get("/_sandbox/drivers/p-1/d-1")).status_code == 404
    assert (await client.get("/_sandbox/orders/o-1")).status_code == 404
    assert (
        await client.post("/personal/v1/identifications/retrieve", json={"id": "x"})
    ).status_code == 404


async def test_driver_upsert_replaces_fields_and_keeps_ledger(
    client: httpx.AsyncClient, add_driver: Callable[..., Awaitable[Json]]
) -> None:
    await add_driver(qr_code="QR-old", balance=50_000)
    await client.post(
        "/contractor-merch-payments/internal/v1/payments",
        json={
            "payment_id": "pay-1",
            "qr_code": "QR-old",
            "amount": 100,
            "currency": "RUB",
            "partner": "mobi",
            "external_id": "1",
        },
    )

    updated = await add_driver(qr_code="QR-new", balance=7, blocked=True)
    old_qr = await client.post(
        "/contractor-merch-payments/internal/v1/payments",
        json={
            "payment_id": "pay-2",
            "qr_code": "QR-old",
            "amount": 1,
            "currency": "RUB",
            "partner": "mobi",
            "external_id": "2",
        },
    )

    assert updated["balance"] == 7
    assert updated["blocked"] is True
    assert [e["idempotency_key"] for e in updated["ledger"]] == ["payment:pay-1"]
    assert "id_number" not in updated
    assert old_qr.json()["decline_reason"] == "invalid_qr"


async def test_invalid_control_bodies_are_422_in_contract_shape(client: httpx.AsyncClient) -> None:
    bad_driver = await client.post(
        "/_sandbox/drivers", json={"park_id": "p", "acceptance": "maybe"}
    )
    bad_order = await client.post("/_sandbox/orders", json={"order_id": "o"})

    for response in (bad_driver, bad_order):
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "invalid_request"
        assert isinstance(body["message"], str)
        assert body["details"]
    locs = {tuple(d["loc"]) for d in bad_driver.json()["details"]}
    assert ("body", "acceptance") in locs
    assert ("body", "driver_profile_id") in locs


async def test_unknown_payment_in_control_is_404(client: httpx.AsyncClient) -> None:
    for path in ("/_sandbox/payments/x", "/_sandbox/payments/x/accept"):
        response = await (client.get(path) if path.endswith("x") else client.post(path))
        assert response.status_code == 404
        assert response.json()["code"] == "payment_not_found"


def test_journal_keeps_only_the_latest_calls_past_its_limit() -> None:
    journal = CallJournal(limit=2)
    for n in range(3):
        journal.record(JournalEntry("personal", "POST", f"/{n}", {}, None, 200, "t"))

    assert [c["path"] for c in journal.calls()] == ["/1", "/2"]
