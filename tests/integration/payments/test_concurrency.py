"""A slow or hanging payments service holds up only its own payment; one transaction's
commands stay in order; a stuck database gives 503s in time (contract section 4 and 2.1).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from ingress.payment_requests import message_key, payment_id_for
from messaging import headers as h
from messaging.topics import PAYMENT_REQUESTS
from schemas.payments import AuthorizePayment, CancelPayment, Merchant
from tests.integration.payments.conftest import (
    Driver,
    Payments,
    eventually,
    new_transaction_id,
)

CREATE = "/internal/v1/payments"


async def _timed_authorize(payments: Payments, body: dict[str, object]) -> tuple[float, int, str]:
    started = time.monotonic()
    answer = await payments.authorize(body)
    status = answer.json().get("status", answer.text) if answer.status_code == 200 else answer.text
    return time.monotonic() - started, answer.status_code, str(status)


async def test_a_payment_whose_create_hangs_holds_up_no_other_payment(payments: Payments) -> None:
    driver = await payments.driver()
    await payments.fault(CREATE, "timeout", times=1)
    stuck = new_transaction_id()
    stuck_call = asyncio.create_task(payments.authorize(payments.body(stuck, driver.qr_code)))
    await eventually(lambda: payments.creates(stuck), timeout=10, what="the hanging create")

    others = [new_transaction_id() for _ in range(40)]
    results = await asyncio.gather(
        *(_timed_authorize(payments, payments.body(tx, driver.qr_code)) for tx in others)
    )

    assert [(code, status) for _, code, status in results] == [(200, "approved")] * 40
    slowest = max(elapsed for elapsed, _, _ in results)
    assert slowest < 1.0, sorted(round(e, 3) for e, _, _ in results)
    # The hanging one was still waiting for its peer all along.
    assert not stuck_call.done()
    await stuck_call


@pytest.fixture
async def producer(payments: Payments) -> AsyncIterator[AIOKafkaProducer]:
    kafka = AIOKafkaProducer(bootstrap_servers=payments.stack.bootstrap_servers, linger_ms=0)
    await kafka.start()
    try:
        yield kafka
    finally:
        await kafka.stop()


async def test_authorize_then_cancel_of_one_transaction_run_in_that_order(
    payments: Payments, producer: AIOKafkaProducer
) -> None:
    driver = await payments.driver()
    # Slow creates: a cancel taken out of order would overtake its authorization. Few
    # at a time, so that creates holding a pooled connection do not exhaust the pool.
    await payments.fault(CREATE, "slow", times=None)
    pairs: list[int] = []
    for _ in range(3):
        pairs += await _authorize_then_cancel_alongside_other_payments(payments, producer, driver)

    for tx in pairs:
        assert (await payments.wait_status(tx, "cancelled", timeout=30))["status"] == "cancelled"
    journal = await payments.journal()
    for tx in pairs:
        payment_id = payment_id_for("mobi", str(tx))
        calls = [
            call["path"]
            for call in journal
            if call["method"] == "POST"
            and (
                call["path"] == f"{CREATE}/{payment_id}/cancel"
                or (call["path"] == CREATE and call["body"]["payment_id"] == payment_id)
            )
        ]
        # Created, then cancelled. A cancel taken first would have recorded the
        # transaction as cancelled and left its authorization nothing to create.
        assert calls == [CREATE, f"{CREATE}/{payment_id}/cancel"], (tx, calls)


async def _authorize_then_cancel_alongside_other_payments(
    payments: Payments, producer: AIOKafkaProducer, driver: Driver
) -> list[int]:
    topic = payments.stack.local.stack.rotation.current(PAYMENT_REQUESTS)
    pairs = [new_transaction_id() for _ in range(6)]
    sends = []
    for tx in pairs:
        key = message_key("mobi", str(tx)).encode()
        payment_id = payment_id_for("mobi", str(tx))
        authorize = AuthorizePayment(
            partner="mobi",
            transaction_id=str(tx),
            payment_id=payment_id,
            qr_code=driver.qr_code,
            amount=1000,
            currency="RUB",
            merchant=Merchant(id="m-17"),
            requested_at=datetime.now(UTC),
        )
        cancel = CancelPayment(partner="mobi", transaction_id=str(tx), payment_id=payment_id)
        for command in (authorize, cancel):
            headers = h.encode({h.CORRELATION_ID: uuid.uuid4().hex})
            value = command.model_dump_json().encode()
            # Back to back, not waiting for the first to be written.
            sends.append(await producer.send(topic, value, key=key, headers=headers))
    others = await asyncio.gather(
        *(payments.authorize(payments.body(new_transaction_id(), driver.qr_code)) for _ in range(3))
    )
    await asyncio.gather(*sends)
    assert [answer.status_code for answer in others] == [200] * 3
    return pairs


async def test_a_stuck_transaction_holding_the_payments_table_gives_503s_within_2_s(
    payments: Payments,
) -> None:
    driver = await payments.driver()
    blocker = await asyncpg.connect(payments.stack.database_url)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE payments IN ACCESS EXCLUSIVE MODE")
        # More requests than the worker's pool has connections: some wait for the lock,
        # the rest for a connection.
        results = await asyncio.gather(
            *(
                _timed_authorize(payments, payments.body(new_transaction_id(), driver.qr_code))
                for _ in range(40)
            )
        )
        await transaction.rollback()
    finally:
        await blocker.close()

    assert {code for _, code, _ in results} == {503}, results
    slowest = max(elapsed for elapsed, _, _ in results)
    assert slowest < 2.0, sorted(round(e, 3) for e, _, _ in results)
    # Served again once the transaction is gone.
    answer = await payments.authorize(payments.body(new_transaction_id(), driver.qr_code))
    assert answer.status_code == 200 and answer.json()["status"] == "approved"
