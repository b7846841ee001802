"""The fake contractor-merch-payments: declines, acceptance modes, idempotency,
one debit per payment, cancels, refunds and the status events."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.events import InMemoryPaymentEventPublisher
from sandbox.settings import Settings
from tests.sandbox.bodies import payment

PAYMENTS = "/contractor-merch-payments/internal/v1/payments"

Json = dict[str, Any]
AddDriver = Callable[..., Awaitable[Json]]


async def driver_state(client: httpx.AsyncClient) -> Json:
    response = await client.get("/_sandbox/drivers/p-1/d-1")
    assert response.status_code == 200
    result: Json = response.json()
    return result


async def wait_for_status(client: httpx.AsyncClient, payment_id: str, status: str) -> Json:
    for _ in range(100):
        body: Json = (await client.get(f"{PAYMENTS}/{payment_id}")).json()
        if body["status"] == status:
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"{payment_id} never became {status}")


def statuses(publisher: InMemoryPaymentEventPublisher, payment_id: str) -> list[str]:
    return [event.status.value for event in publisher.for_payment(payment_id)]


async def test_auto_driver_is_confirmed_and_debited_once(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(balance=20_000)

    first = await client.post(PAYMENTS, json=payment(), headers={"correlation-id": "c-9"})
    again = await client.post(PAYMENTS, json=payment())

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == "confirmed"
    assert first.json()["decline_reason"] is None
    assert again.json() == first.json()
    driver = await driver_state(client)
    assert driver["balance"] == 20_000 - 15_050
    debits = [e for e in driver["ledger"] if e["kind"] == "debit"]
    assert [(d["idempotency_key"], d["amount"]) for d in debits] == [("payment:pay-1", 15_050)]
    assert statuses(publisher, "pay-1") == ["confirmed"]
    published = publisher.published[0]
    assert published.topic == "merch-payment-events"
    assert published.key == "pay-1"
    assert published.headers == {"correlation-id": "c-9"}


async def test_get_payment_returns_state_and_unknown_is_404(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver()
    await client.post(PAYMENTS, json=payment())

    found = await client.get(f"{PAYMENTS}/pay-1")
    missing = await client.get(f"{PAYMENTS}/nope")

    assert found.json()["status"] == "confirmed"
    assert found.json()["amount"] == 15_050
    assert missing.status_code == 404
    assert missing.json()["code"] == "payment_not_found"


async def test_same_payment_id_with_another_body_is_a_conflict(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver()
    await client.post(PAYMENTS, json=payment())

    response = await client.post(PAYMENTS, json=payment(amount=1))

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"


@pytest.mark.parametrize(
    ("driver", "request_overrides", "reason"),
    [
        ({}, {"qr_code": "QR-unknown"}, "invalid_qr"),
        ({"blocked": True}, {}, "contractor_blocked"),
        ({"qr_expired": True}, {}, "qr_expired"),
        ({"payment_limit": 10_000}, {}, "limit_exceeded"),
        ({"balance": 15_049}, {}, "insufficient_funds"),
        ({"currency": "ILS"}, {}, "invalid_qr"),
        ({"acceptance": "manual", "balance": 100}, {}, "insufficient_funds"),
    ],
)
async def test_declines(
    client: httpx.AsyncClient,
    add_driver: AddDriver,
    publisher: InMemoryPaymentEventPublisher,
    driver: Json,
    request_overrides: Json,
    reason: str,
) -> None:
    await add_driver(**driver)

    response = await client.post(PAYMENTS, json=payment(**request_overrides))

    assert response.status_code == 200
    assert response.json()["status"] == "declined"
    assert response.json()["decline_reason"] == reason
    assert (await driver_state(client))["ledger"] == []
    events = publisher.for_payment("pay-1")
    assert [(e.status.value, e.decline_reason) for e in events] == [("declined", reason)]


async def test_payment_within_limit_and_exact_balance_is_confirmed(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(balance=15_050, payment_limit=15_050)

    response = await client.post(PAYMENTS, json=payment())

    assert response.json()["status"] == "confirmed"
    assert (await driver_state(client))["balance"] == 0


async def test_manual_payment_waits_then_accept_debits_and_confirms(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(acceptance="manual", balance=20_000)

    created = await client.post(PAYMENTS, json=payment())
    assert created.json()["status"] == "pending_acceptance"
    assert (await driver_state(client))["ledger"] == []

    accepted = await client.post("/_sandbox/payments/pay-1/accept")
    accepted_again = await client.post("/_sandbox/payments/pay-1/accept")

    assert accepted.status_code == 200
    assert accepted.json()["status"] == "confirmed"
    assert accepted.json()["history"] == ["pending_acceptance", "confirmed"]
    assert accepted_again.status_code == 409
    assert (await client.get(f"{PAYMENTS}/pay-1")).json()["status"] == "confirmed"
    assert (await driver_state(client))["balance"] == 20_000 - 15_050
    assert statuses(publisher, "pay-1") == ["pending_acceptance", "confirmed"]


async def test_manual_payment_rejected_by_driver(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(acceptance="manual")
    await client.post(PAYMENTS, json=payment())

    rejected = await client.post("/_sandbox/payments/pay-1/reject")

    assert rejected.json()["status"] == "declined"
    assert rejected.json()["decline_reason"] == "driver_rejected"
    assert (await driver_state(client))["ledger"] == []
    assert statuses(publisher, "pay-1") == ["pending_acceptance", "declined"]


async def test_accept_when_balance_dropped_meanwhile_declines(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(acceptance="manual", balance=20_000)
    await client.post(PAYMENTS, json=payment())
    await add_driver(acceptance="manual", balance=10)

    accepted = await client.post("/_sandbox/payments/pay-1/accept")

    assert accepted.json()["decline_reason"] == "insufficient_funds"


async def test_reject_mode_declines_after_a_moment(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(acceptance="reject")

    created = await client.post(PAYMENTS, json=payment())

    assert created.json()["status"] == "pending_acceptance"
    final = await wait_for_status(client, "pay-1", "declined")
    assert final["decline_reason"] == "driver_rejected"
    assert statuses(publisher, "pay-1") == ["pending_acceptance", "declined"]


async def test_reject_mode_with_no_delay_declines_at_once(
    settings: Settings, publisher: InMemoryPaymentEventPublisher
) -> None:
    settings.sandbox_reject_delay_seconds = 0
    app = create_app(settings, publisher)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as client:
        await client.post(
            "/_sandbox/drivers",
            json={
                "park_id": "p",
                "driver_profile_id": "d",
                "balance": 10**6,
                "currency": "RUB",
                "qr_code": "QR-d-1",
                "acceptance": "reject",
            },
        )
        created = await client.post(PAYMENTS, json=payment())

    assert created.json()["status"] == "declined"
    assert created.json()["decline_reason"] == "driver_rejected"


async def test_never_mode_stays_pending(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(acceptance="never")

    created = await client.post(PAYMENTS, json=payment())
    await asyncio.sleep(0.1)

    assert created.json()["status"] == "pending_acceptance"
    assert (await client.get(f"{PAYMENTS}/pay-1")).json()["status"] == "pending_acceptance"
    assert statuses(publisher, "pay-1") == ["pending_acceptance"]


async def test_cancel_pending_payment(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(acceptance="never")
    await client.post(PAYMENTS, json=payment())

    cancelled = await client.post(f"{PAYMENTS}/pay-1/cancel")

    assert cancelled.json()["status"] == "cancelled"
    assert (await driver_state(client))["ledger"] == []
    assert statuses(publisher, "pay-1") == ["pending_acceptance", "cancelled"]


async def test_cancel_confirmed_payment_credits_back_once(
    client: httpx.AsyncClient, add_driver: AddDriver, publisher: InMemoryPaymentEventPublisher
) -> None:
    await add_driver(balance=20_000)
    await client.post(PAYMENTS, json=payment())

    first = await client.post(f"{PAYMENTS}/pay-1/cancel")
    again = await client.post(f"{PAYMENTS}/pay-1/cancel")

    assert first.status_code == again.status_code == 200
    assert first.json()["status"] == again.json()["status"] == "cancelled"
    driver = await driver_state(client)
    assert driver["balance"] == 20_000
    credits = [e["idempotency_key"] for e in driver["ledger"] if e["kind"] == "credit"]
    assert credits == ["cancel:pay-1"]
    assert statuses(publisher, "pay-1") == ["confirmed", "cancelled"]


async def test_cancel_declined_is_409_and_unknown_is_404(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(blocked=True)
    await client.post(PAYMENTS, json=payment())

    declined = await client.post(f"{PAYMENTS}/pay-1/cancel")
    unknown = await client.post(f"{PAYMENTS}/nope/cancel")

    assert declined.status_code == 409
    assert declined.json()["code"] == "payment_not_cancellable"
    assert unknown.status_code == 404


async def test_refunds_are_idempotent_and_bounded(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(balance=20_000)
    await client.post(PAYMENTS, json=payment())

    first = await client.post(
        f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-1", "amount": 5000}
    )
    repeat = await client.post(
        f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-1", "amount": 5000}
    )
    conflict = await client.post(
        f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-1", "amount": 1}
    )
    second = await client.post(
        f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-2", "amount": 10_050}
    )
    too_much = await client.post(
        f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-3", "amount": 1}
    )

    assert first.status_code == 200
    assert first.json() == {
        "refund_id": "r-1",
        "payment_id": "pay-1",
        "status": "succeeded",
        "amount": 5000,
        "refunded_total": 5000,
    }
    assert repeat.json() == first.json()
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"
    assert second.json()["refunded_total"] == 15_050
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "refund_exceeds_payment"
    driver = await driver_state(client)
    assert driver["balance"] == 20_000
    credits = [e["idempotency_key"] for e in driver["ledger"] if e["kind"] == "credit"]
    assert credits == ["refund:r-1", "refund:r-2"]
    read = (await client.get("/_sandbox/payments/pay-1")).json()
    assert read["refunded_total"] == 15_050
    assert [r["refund_id"] for r in read["refunds"]] == ["r-1", "r-2"]


async def test_cancel_after_partial_refund_credits_only_the_rest(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(balance=20_000)
    await client.post(PAYMENTS, json=payment())
    await client.post(f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r-1", "amount": 5000})

    await client.post(f"{PAYMENTS}/pay-1/cancel")

    assert (await driver_state(client))["balance"] == 20_000


async def test_refund_of_unconfirmed_payment_is_409(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(acceptance="manual")
    await client.post(PAYMENTS, json=payment())

    response = await client.post(f"{PAYMENTS}/pay-1/refunds", json={"refund_id": "r", "amount": 1})

    assert response.status_code == 409
    assert response.json()["code"] == "payment_not_refundable"


async def test_concurrent_duplicates_debit_once(
    client: httpx.AsyncClient, add_driver: AddDriver
) -> None:
    await add_driver(balance=1_000_000)

    answers = await asyncio.gather(*(client.post(PAYMENTS, json=payment()) for _ in range(10)))

    assert {a.json()["status"] for a in answers} == {"confirmed"}
    assert (await driver_state(client))["balance"] == 1_000_000 - 15_050


async def test_invalid_payment_body_is_422_in_contract_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(PAYMENTS, json=payment(amount=0))

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert body["details"][0]["loc"] == ["body", "amount"]
