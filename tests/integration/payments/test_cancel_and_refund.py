"""Cancels and refunds through the real system, with the money seen in the sandbox ledger."""

from __future__ import annotations

import asyncio
import uuid

from tests.integration.payments.conftest import Payments, eventually, new_transaction_id


def rid() -> str:
    """Refund ids are the partner's, unique for good (the database outlives a test)."""
    return f"r-{uuid.uuid4().hex}"


async def test_cancel_of_an_approved_payment_returns_the_money_once(payments: Payments) -> None:
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    await payments.authorize(payments.body(tx, driver.qr_code, 2500))
    first = await payments.cancel(tx)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled"
    again = await payments.cancel(tx)
    assert again.json() == first.json()
    assert await payments.balance(driver) == 10_000
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit", "credit"]
    assert (await payments.status(tx)).json()["status"] == "cancelled"


async def test_cancel_of_a_pending_payment_answers_its_held_authorization(
    payments: Payments,
) -> None:
    driver = await payments.driver(acceptance="manual")
    tx = new_transaction_id()
    held = asyncio.create_task(payments.authorize(payments.body(tx, driver.qr_code)))
    await eventually(lambda: payments.peer_payment(tx), what="payment created")
    cancelled = await payments.cancel(tx)
    assert cancelled.json()["status"] == "cancelled"
    assert (await held).json()["status"] == "cancelled"
    peer = await payments.peer_payment(tx)
    assert peer is not None and peer["status"] == "cancelled"
    # The driver can no longer accept it.
    assert (await payments.driver_answers(tx, "accept")).status_code == 409
    assert await payments.ledger(driver) == []


async def test_cancel_of_a_declined_payment_is_409(payments: Payments) -> None:
    driver = await payments.driver(balance=10)
    tx = new_transaction_id()
    declined = await payments.authorize(payments.body(tx, driver.qr_code, 100))
    assert declined.json()["decline_reason"] == "insufficient_funds"
    answer = await payments.cancel(tx)
    assert answer.status_code == 409
    assert answer.json()["code"] == "payment_not_cancellable"


async def test_a_cancel_before_its_authorization_wins_and_nothing_is_created(
    payments: Payments,
) -> None:
    driver = await payments.driver()
    tx = new_transaction_id()
    cancelled = await payments.cancel(tx)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    late = await payments.authorize(payments.body(tx, driver.qr_code))
    assert late.status_code == 200
    assert late.json()["status"] == "cancelled"
    assert late.json()["payment_id"] == cancelled.json()["payment_id"]
    assert await payments.creates(tx) == 0
    assert await payments.peer_payment(tx) is None


async def test_partial_then_full_refunds_up_to_the_amount(payments: Payments) -> None:
    r1 = rid()
    r2 = rid()
    r3 = rid()
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    await payments.authorize(payments.body(tx, driver.qr_code, 5000))
    first = await payments.refund(tx, r1, 2000)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "refund_id": first.json()["refund_id"],
        "transaction_id": tx,
        "status": "succeeded",
        "amount": 2000,
        "refunded_total": 2000,
    }
    over = await payments.refund(tx, r2, 3001)
    assert over.status_code == 409
    assert over.json()["code"] == "refund_exceeds_payment"
    rest = await payments.refund(tx, r3, 3000)
    assert rest.json()["refunded_total"] == 5000
    assert await payments.balance(driver) == 10_000


async def test_a_repeated_refund_id_refunds_once_and_another_body_is_409(
    payments: Payments,
) -> None:
    r1 = rid()
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    await payments.authorize(payments.body(tx, driver.qr_code, 5000))
    first = await payments.refund(tx, r1, 1000)
    again = await payments.refund(tx, r1, 1000)
    assert again.json() == first.json()
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit", "credit"]
    conflict = await payments.refund(tx, r1, 1500)
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"


async def test_refunds_of_unapproved_or_unknown_payments_are_refused(payments: Payments) -> None:
    r1 = rid()
    r2 = rid()
    driver = await payments.driver(balance=10)
    tx = new_transaction_id()
    await payments.authorize(payments.body(tx, driver.qr_code, 100))  # declined
    not_refundable = await payments.refund(tx, r1, 10)
    assert not_refundable.status_code == 409
    assert not_refundable.json()["code"] == "payment_not_refundable"
    unknown = await payments.refund(new_transaction_id(), r2, 10)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "payment_not_found"


async def test_a_refund_the_service_fails_is_503_and_safe_to_repeat(payments: Payments) -> None:
    r1 = rid()
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    await payments.authorize(payments.body(tx, driver.qr_code, 5000))
    await payments.fault("refunds", "error", times=1)
    failed = await payments.refund(tx, r1, 1000)
    assert failed.status_code == 503
    assert failed.json()["code"] == "payments_unavailable"
    assert "Retry-After" in failed.headers
    again = await payments.refund(tx, r1, 1000)
    assert again.status_code == 200
    assert again.json()["refunded_total"] == 1000
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit", "credit"]
