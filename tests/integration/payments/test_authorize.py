"""Authorize through HTTP, Kafka, the worker, PostgreSQL and the sandbox payments service."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from ingress.payment_requests import payment_id_for
from tests.integration.payments.conftest import (
    Driver,
    Payments,
    eventually,
    new_transaction_id,
)


async def test_an_auto_accepted_payment_is_approved_with_one_debit(payments: Payments) -> None:
    driver = await payments.driver(balance=100_000)
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, driver.qr_code, 15050))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "transaction_id": tx,
        "payment_id": payment_id_for("mobi", str(tx)),
        "status": "approved",
        "decline_reason": None,
        "amount": 15050,
        "currency": "RUB",
    }
    assert await payments.balance(driver) == 100_000 - 15050
    assert (await payments.status(tx)).json() == answer.json()
    row = await payments.row(tx)
    assert row is not None and row["status"] == "approved"
    assert driver.qr_code.encode() not in bytes(row["request_hash"])  # a digest, not the QR


@pytest.mark.parametrize(
    ("setup", "amount", "reason"),
    [
        ({"qr_code": None}, 100, "invalid_qr"),
        ({"balance": 50}, 100, "insufficient_funds"),
        ({"blocked": True}, 100, "contractor_blocked"),
        ({"qr_expired": True}, 100, "qr_expired"),
        ({"payment_limit": 99}, 100, "limit_exceeded"),
        ({"acceptance": "reject"}, 100, "driver_rejected"),
    ],
)
async def test_each_decline_reason_reaches_the_partner(
    payments: Payments, setup: dict[str, Any], amount: int, reason: str
) -> None:
    driver = await payments.driver(**{k: v for k, v in setup.items() if k != "qr_code"})
    qr = "unknown-qr" if "qr_code" in setup else driver.qr_code
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, qr, amount))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["decline_reason"]) == ("declined", reason)
    assert await payments.ledger(driver) == []


async def test_a_manual_payment_is_held_until_the_driver_accepts(payments: Payments) -> None:
    driver = await payments.driver(acceptance="manual", balance=100_000)
    tx = new_transaction_id()
    started = time.monotonic()
    held = asyncio.create_task(payments.authorize(payments.body(tx, driver.qr_code, 700)))
    await eventually(lambda: payments.peer_payment(tx), what="payment created")
    await asyncio.sleep(0.5)
    assert not held.done()
    assert (await payments.driver_answers(tx, "accept")).status_code == 200
    answer = await held
    assert answer.json()["status"] == "approved"
    assert time.monotonic() - started < 4  # answered on acceptance, not at the hold timeout
    assert await payments.balance(driver) == 100_000 - 700


async def test_a_payment_rejected_by_the_driver_is_declined(payments: Payments) -> None:
    driver = await payments.driver(acceptance="manual")
    tx = new_transaction_id()
    held = asyncio.create_task(payments.authorize(payments.body(tx, driver.qr_code)))
    await eventually(lambda: payments.peer_payment(tx), what="payment created")
    await payments.driver_answers(tx, "reject")
    answer = await held
    assert answer.json()["decline_reason"] == "driver_rejected"


async def _authorize_unanswered_within_the_hold(
    payments: Payments, acceptance: str
) -> tuple[Driver, int]:
    """A new authorization to a driver who does not answer within the hold timeout:
    the partner is answered `pending` with the payment's id."""
    driver = await payments.driver(acceptance=acceptance)
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, driver.qr_code))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending"
    assert answer.json()["payment_id"] == payment_id_for("mobi", str(tx))
    return driver, tx


async def test_past_the_hold_timeout_the_answer_is_pending_and_get_shows_the_final_state(
    payments: Payments,
) -> None:
    _, tx = await _authorize_unanswered_within_the_hold(payments, acceptance="manual")
    await payments.driver_answers(tx, "accept")
    await payments.wait_status(tx, "approved", timeout=10)


async def test_acceptance_timeout_declines_and_cancels_in_the_payments_service(
    payments: Payments,
) -> None:
    driver, tx = await _authorize_unanswered_within_the_hold(payments, acceptance="never")
    final = await payments.wait_status(tx, "declined", timeout=20)
    assert final["decline_reason"] == "acceptance_timeout"

    async def cancelled_there() -> bool:
        peer = await payments.peer_payment(tx)
        return peer is not None and peer["status"] == "cancelled"

    await eventually(cancelled_there, what="payment cancelled in the payments service")
    assert await payments.ledger(driver) == []


async def test_status_of_an_unknown_transaction_is_404(payments: Payments) -> None:
    answer = await payments.status(new_transaction_id())
    assert answer.status_code == 404
    assert answer.json()["code"] == "payment_not_found"


async def test_an_invalid_body_is_422_with_field_details_and_nothing_recorded(
    payments: Payments,
) -> None:
    driver = await payments.driver()
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, driver.qr_code, amount=0, currency="R"))
    assert answer.status_code == 422
    fields = {detail["field"] for detail in answer.json()["details"]}
    assert {"body.amount", "body.currency"} <= fields
    assert driver.qr_code not in answer.text
    assert await payments.row(tx) is None


async def test_a_wrong_key_is_401_and_nothing_is_published(payments: Payments) -> None:
    driver = await payments.driver()
    tx = new_transaction_id()
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer test-acme-key"},
    ):
        answer = await payments.authorize(payments.body(tx, driver.qr_code), headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"
    await asyncio.sleep(1)
    assert await payments.row(tx) is None
    assert await payments.creates(tx) == 0


async def test_a_repeated_authorization_gets_the_first_payment_and_one_debit(
    payments: Payments,
) -> None:
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    first = await payments.authorize(payments.body(tx, driver.qr_code, 1000))
    again = await payments.authorize(payments.body(tx, driver.qr_code, 1000))
    assert again.json() == first.json()
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit"]
    conflict = await payments.authorize(payments.body(tx, driver.qr_code, 1001))
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "idempotency_conflict"


async def test_twenty_concurrent_duplicates_make_one_payment_and_one_debit(
    payments: Payments,
) -> None:
    driver = await payments.driver(balance=10_000)
    tx = new_transaction_id()
    body = payments.body(tx, driver.qr_code, 1000)
    answers = await asyncio.gather(*(payments.authorize(body) for _ in range(20)))
    assert {a.status_code for a in answers} == {200}
    assert {(a.json()["payment_id"], a.json()["status"]) for a in answers} == {
        (payment_id_for("mobi", str(tx)), "approved")
    }
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit"]
    assert await payments.balance(driver) == 9000


async def test_payments_service_errors_decline_payments_unavailable_never_500(
    payments: Payments,
) -> None:
    driver = await payments.driver()
    await payments.fault("payments", "error")  # every create answers 500
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, driver.qr_code))
    assert answer.status_code == 200
    assert answer.json()["status"] in ("pending", "declined")
    final = await payments.wait_status(tx, "declined", timeout=20)
    assert final["decline_reason"] == "payments_unavailable"
    assert await payments.ledger(driver) == []


async def test_a_payments_service_timeout_leaves_it_pending_then_the_poll_resolves_it(
    payments: Payments,
) -> None:
    driver = await payments.driver(balance=10_000)
    await payments.fault("payments", "timeout", times=1)
    tx = new_transaction_id()
    answer = await payments.authorize(payments.body(tx, driver.qr_code, 1000))
    assert answer.status_code == 200
    assert answer.json()["status"] == "pending"
    final = await payments.wait_status(tx, "declined", timeout=20)
    assert final["decline_reason"] == "payments_unavailable"
    # The partner's retry is answered from the state; nothing was debited.
    again = await payments.authorize(payments.body(tx, driver.qr_code, 1000))
    assert again.json()["status"] == "declined"
    assert await payments.ledger(driver) == []
