"""A worker SIGKILLed in the middle of an authorization: the partner's retries get one
final answer, the driver is debited at most once (exactly once when approved), and no
payment is left pending.

Where the worker dies is pinned with real processes, not mocks:

1. after the payment row is written, before the payments service did anything: a
   `timeout` fault holds the create call (the sandbox never runs it) and the worker
   is killed while it waits;
2. after the payments service was called and debited the driver, before the worker
   learned the answer: a `slow` fault holds the answer, the worker is killed, and the
   sandbox completes the create (and the debit) for a caller that is gone;
3. after the payment is final in PostgreSQL, right before the reply is produced: the
   workers of this stack run a test-only entry module (`crashing_worker.py`, the
   production worker with a crash point wrapped around authorize), armed by creating
   the file named in `PAYMENTS_CRASH_FILE`; it exits the process (status 137, as
   SIGKILL would).

The launcher restarts the dead worker and Kafka hands the unacknowledged command to it
again. This module kills workers, so it runs a stack of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.config import python_module
from tests.integration.conftest import RunningStack, probe
from tests.integration.own_stack import own_stack
from tests.integration.payments.conftest import (
    Driver,
    Payments,
    eventually,
    new_transaction_id,
    payments_on,
)

FINAL = ("approved", "declined", "cancelled")
CREATE_PATH = "/internal/v1/payments"
RECOVERY_S = 60.0  # restart (0.5 s backoff) + Faust start + group rejoin, with room
BALANCE = 100_000


@pytest.fixture(scope="module")
def crash_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash-hook") / "armed"


@pytest.fixture(scope="module")
def crash_stack(
    tmp_path_factory: pytest.TempPathFactory, crash_file: Path
) -> Iterator[RunningStack]:
    with own_stack(
        tmp_path_factory.mktemp("payments-crash"),
        workers=1,
        env={
            # Long enough that a command redelivered after the restart is still worth
            # creating, and that the poll does not give up on an unknown create before it.
            "PAYMENT_ACCEPTANCE_TIMEOUT": "90",
            "PAYMENTS_SERVICE_TIMEOUT": "10",
            "PAYMENT_HOLD_TIMEOUT": "5",
            # The injected faults hold a call well past the moment of the kill.
            "SANDBOX_FAULT_SLOW_SECONDS": "2",
            "SANDBOX_FAULT_TIMEOUT_SECONDS": "30",
            "PAYMENTS_CRASH_FILE": str(crash_file),
        },
        worker_command=python_module("tests.integration.payments.crashing_worker"),
    ) as running:
        yield running


@pytest.fixture
async def payments(crash_stack: RunningStack) -> AsyncIterator[Payments]:
    await asyncio.to_thread(_wait_until_serving, crash_stack)
    async with payments_on(crash_stack) as helper:
        yield helper


def _wait_until_serving(stack: RunningStack, timeout: float = RECOVERY_S) -> None:
    """Every partition of the worker group answers again (probes spread over all)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(probe(stack.internal_url, timeout=3).status_code == 200 for _ in range(16)):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the worker did not serve every partition within {timeout} s")


async def _create_calls(payments: Payments, tx: int) -> list[dict[str, Any]]:
    return [
        call
        for call in await payments.journal()
        if call["method"] == "POST"
        and call["path"] == CREATE_PATH
        and isinstance(call["body"], dict)
        and call["body"].get("external_id") == str(tx)
    ]


async def _kill_worker(payments: Payments) -> int:
    stack = payments.stack
    killed = stack.kill_worker("worker-1")
    await eventually(
        lambda: _async(stack.pids.get("worker-1") not in (None, killed)),
        timeout=10,
        what="the launcher restarting the worker",
    )
    return killed


async def _async(value: bool) -> bool:
    return value


async def _retry_until_final(payments: Payments, body: dict[str, Any]) -> dict[str, Any]:
    """The partner's till: repeat the same authorization until the answer is final."""
    deadline = time.monotonic() + RECOVERY_S
    while True:
        answer = await payments.authorize(body)
        assert answer.status_code == 200, answer.text  # pending while the worker is away
        result: dict[str, Any] = answer.json()
        if result["status"] in FINAL:
            return result
        assert result["status"] == "pending", result
        if time.monotonic() > deadline:
            pytest.fail(f"no final answer within {RECOVERY_S} s: {result}")
        await asyncio.sleep(0.5)


async def _new_authorization(payments: Payments, amount: int) -> tuple[Driver, int, dict[str, Any]]:
    """A driver holding BALANCE, and a new authorization of `amount` to them."""
    driver = await payments.driver(balance=BALANCE)
    tx = new_transaction_id()
    return driver, tx, payments.body(tx, driver.qr_code, amount)


async def _retries_end_approved_and_settled(
    payments: Payments, first: httpx.Response, driver: Driver, tx: int, body: dict[str, Any]
) -> None:
    """The first answer was a 200 (the row as it was); the partner's retries end approved,
    and the driver was debited exactly once."""
    assert first.status_code == 200, first.text
    final = await _retry_until_final(payments, body)
    assert final["status"] == "approved", final
    await _check_settled(payments, tx, driver, final, BALANCE)


async def _check_settled(
    payments: Payments, tx: int, driver: Driver, final: dict[str, Any], balance: int
) -> None:
    """One final answer everywhere, the money moved at most once, nothing left to do."""
    # Another retry and GET give the same final answer.
    again = await payments.authorize(payments.body(tx, driver.qr_code, final["amount"]))
    assert again.status_code == 200 and again.json() == final
    assert (await payments.status(tx)).json() == final
    # The row is final and, once any owed cancel is settled, the poll forgets it.
    row = await eventually(
        lambda: _settled_row(payments, tx), timeout=20, what="the row settled (nothing owed)"
    )
    assert row["status"] == final["status"]
    ledger = await payments.ledger(driver)
    debits = [entry for entry in ledger if entry["kind"] == "debit"]
    credits = [entry for entry in ledger if entry["kind"] == "credit"]
    assert len(debits) <= 1, ledger
    if final["status"] == "approved":
        assert (len(debits), credits) == (1, []), ledger
        assert await payments.balance(driver) == balance - final["amount"]
        peer = await payments.peer_payment(tx)
        assert peer is not None and peer["status"] == "confirmed"
    else:  # declined: whatever was debited was given back
        assert sum(e["amount"] for e in credits) == sum(e["amount"] for e in debits), ledger
        assert await payments.balance(driver) == balance


async def _settled_row(payments: Payments, tx: int) -> Any:
    row = await payments.row(tx)
    if row is None or row["status"] == "pending" or row["cancel_owed"]:
        return None
    if row["next_poll_at"] is not None or row["waiters"] not in ("[]", []):
        return None
    return row


async def _authorize_while_the_create_is_held(
    payments: Payments, tx: int, body: dict[str, Any], fault: str
) -> asyncio.Task[httpx.Response]:
    """The authorization, sent once the sandbox will hold its create (`fault`), and
    returned once that create has reached the sandbox."""
    await payments.fault(CREATE_PATH, fault, times=1)
    first = asyncio.create_task(payments.authorize(body))
    await eventually(lambda: _create_calls(payments, tx), timeout=10, what="the create call")
    return first


async def test_killed_after_the_row_is_written_before_the_service_acts(
    payments: Payments,
) -> None:
    driver, tx, body = await _new_authorization(payments, 4_200)
    # The create reaches the sandbox, which holds it and never runs it.
    first = await _authorize_while_the_create_is_held(payments, tx, body, "timeout")
    row = await payments.row(tx)
    assert row is not None and row["status"] == "pending" and row["peer_status"] is None
    await _kill_worker(payments)
    assert await payments.peer_payment(tx) is None  # the service has nothing

    # Held until the hold timeout: the row as it is. The redelivered command creates it.
    await _retries_end_approved_and_settled(payments, await first, driver, tx, body)


async def test_killed_after_the_service_debited_before_the_answer_arrived(
    payments: Payments,
) -> None:
    driver, tx, body = await _new_authorization(payments, 4_300)
    # The sandbox holds its answer; it completes the create after the caller died.
    first = await _authorize_while_the_create_is_held(payments, tx, body, "slow")
    await _kill_worker(payments)
    await eventually(lambda: payments.ledger(driver), timeout=10, what="the debit")
    row = await payments.row(tx)
    assert row is not None and row["status"] == "pending"  # the worker never learned it

    await _retries_end_approved_and_settled(payments, await first, driver, tx, body)


async def test_killed_after_the_payment_is_final_before_the_reply(
    payments: Payments, crash_file: Path
) -> None:
    driver, tx, body = await _new_authorization(payments, 4_400)
    restarts = payments.stack.local.restarts("worker-1")
    crash_file.touch()  # armed: the next authorization's reply is never produced
    try:
        first = await payments.authorize(body)
        await eventually(
            lambda: _async(payments.stack.local.restarts("worker-1") > restarts),
            timeout=15,
            what="the worker dying at the crash point",
        )
    finally:
        crash_file.unlink(missing_ok=True)
    # The row was final before the worker died: the held request reads it.
    row = await payments.row(tx)
    assert row is not None and row["status"] == "approved"
    await _retries_end_approved_and_settled(payments, first, driver, tx, body)
    assert len(await _create_calls(payments, tx)) == 1  # the final row is never re-created
