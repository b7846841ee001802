"""The broker SIGKILLed under authorize load loses no taken payment and doubles none.

Partners send authorizations at a steady concurrency; the broker is SIGKILLed a few
seconds in and the launcher brings it back. Afterwards every authorization the system
took (answered `approved` or `pending`) reaches a final state, `approved` stays approved,
none is unknown (404), and the driver is debited exactly once per approved payment.
Refusals (503) were not taken and may or may not have been processed; the ledger check
counts whatever ended approved. On both brokers: Apache Kafka keeps what it took on
disk; Tansu loses every message, so there an authorization is answered `pending` only
once a worker has taken it (its row exists), and the requests waiting at the death are
answered 503. The ingress answers throughout (no refused or cut connection).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.integration.conftest import RunningStack
from tests.integration.own_stack import own_stack
from tests.integration.payments.conftest import Payments, new_transaction_id, payments_on

AMOUNT = 100
BALANCE = 10_000_000
CONCURRENCY = 8
LOAD_S = 14.0
KILL_AFTER_S = 4.0
FINAL = ("approved", "declined", "cancelled")
SETTLE_S = 90.0  # pending payments reach a final state within the acceptance timeout


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[RunningStack]:
    with own_stack(
        tmp_path_factory.mktemp(f"broker-fault-{broker}"), workers=1, broker=broker
    ) as running:
        yield running


@pytest.fixture
async def payments(fault_stack: RunningStack) -> AsyncIterator[Payments]:
    async with payments_on(fault_stack) as helper:
        yield helper


async def _load(payments: Payments, qr_code: str, answers: dict[int, str]) -> None:
    deadline = time.monotonic() + LOAD_S
    while time.monotonic() < deadline:
        tx = new_transaction_id()
        try:
            answer = await payments.authorize(payments.body(tx, qr_code, AMOUNT))
        except httpx.HTTPError:
            answers[tx] = "no answer"
            await asyncio.sleep(0.1)
            continue
        status = answer.json().get("status") if answer.status_code == 200 else None
        answers[tx] = status or f"http {answer.status_code}"
        if answer.status_code != 200:
            await asyncio.sleep(0.1)  # the broker is away: a partner backs off too


async def test_a_broker_killed_under_load_loses_no_taken_payment(
    payments: Payments, fault_stack: RunningStack
) -> None:
    driver = await payments.driver(balance=BALANCE)
    answers: dict[int, str] = {}
    load = [
        asyncio.create_task(_load(payments, driver.qr_code, answers)) for _ in range(CONCURRENCY)
    ]
    await asyncio.sleep(KILL_AFTER_S)
    recoveries = fault_stack.local.broker_recoveries
    fault_stack.signal("broker", signal.SIGKILL)
    killed_at = time.monotonic()
    await asyncio.gather(*load)
    while fault_stack.local.broker_recoveries == recoveries:
        assert time.monotonic() - killed_at < 60, "the broker was not brought back within 60 s"
        await asyncio.sleep(0.2)

    taken = {tx: status for tx, status in answers.items() if status in ("approved", "pending")}
    assert len(taken) > 50, answers  # the load did run
    deadline = time.monotonic() + SETTLE_S
    final: dict[int, str] = {}
    while len(final) < len(taken) and time.monotonic() < deadline:
        for tx in taken.keys() - final.keys():
            answer = await payments.status(tx)
            if answer.status_code == 200 and answer.json()["status"] in FINAL:
                final[tx] = answer.json()["status"]
        await asyncio.sleep(0.5)
    unsettled = {tx: taken[tx] for tx in taken.keys() - final.keys()}
    assert not unsettled, f"{len(unsettled)} taken payments never reached a final state"
    flipped = [tx for tx, status in taken.items() if status == "approved" != final[tx]]
    assert not flipped, f"answered approved, then {[final[tx] for tx in flipped]}"
    # Every payment that ended approved, taken or not, was debited exactly once.
    approved = 0
    for tx in answers:
        answer = await payments.status(tx)
        if answer.status_code == 200 and answer.json()["status"] == "approved":
            approved += 1
    assert await payments.balance(driver) == BALANCE - approved * AMOUNT
    counts = {status: list(answers.values()).count(status) for status in set(answers.values())}
    assert "no answer" not in counts, counts
    print(f"answers {counts}; taken {len(taken)}, all final; approved {approved}")  # with -s
