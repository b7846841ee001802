"""The status poll with two workers never acts twice on one payment.

Both workers run the poll timer (here every 0.5 s, two payments a round, so both
take part and contend); claims with
`FOR UPDATE SKIP LOCKED` and a lease must give each payment to one of them. Payments
that wait for a driver who never answers are declined `acceptance_timeout` and
cancelled in the payments service: once per payment, even when the first cancel
fails and the poll has to retry it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ingress.payment_requests import payment_id_for
from tests.integration.conftest import RunningStack
from tests.integration.own_stack import own_stack
from tests.integration.payments.conftest import (
    Payments,
    eventually,
    new_transaction_id,
    payments_on,
)

PAYMENTS_PER_TEST = 8


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(
        tmp_path_factory.mktemp("payments-two-workers"),
        workers=2,
        # Acceptance timeout: STACK_ENV's 8 s. Small rounds, often: the workers contend.
        env={"PAYMENT_POLL_INTERVAL": "0.5", "PAYMENT_POLL_BATCH": "2"},
    ) as running:
        yield running


@pytest.fixture
async def payments(two_workers: RunningStack) -> AsyncIterator[Payments]:
    async with payments_on(two_workers, reset=True) as helper:
        yield helper


async def _cancel_calls(payments: Payments) -> list[dict[str, Any]]:
    return [
        call
        for call in await payments.journal()
        if call["method"] == "POST" and call["path"].endswith("/cancel")
    ]


def _poll_actions(stack: RunningStack, action: str) -> dict[str, float]:
    """`payment_poll_actions_total{action=...}` of each worker."""
    counts: dict[str, float] = {}
    for url in stack.worker_urls:
        text = httpx.get(f"{url}/metrics", timeout=5).text
        counts[url] = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("payment_poll_actions_total{") and f'action="{action}"' in line
        )
    return counts


async def _payments_left_waiting(payments: Payments) -> list[int]:
    """Authorize payments whose driver never answers; the hold timeout answers `pending`."""
    transactions = [new_transaction_id() for _ in range(PAYMENTS_PER_TEST)]
    drivers = [await payments.driver(acceptance="manual") for _ in transactions]
    answers = await asyncio.gather(
        *(
            payments.authorize(payments.body(tx, driver.qr_code, 1_000))
            for tx, driver in zip(transactions, drivers, strict=True)
        )
    )
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "pending", answer.json()
    return transactions


async def _all_expired(payments: Payments, transactions: list[int]) -> None:
    for tx in transactions:
        final = await payments.wait_status(tx, "declined", timeout=30)
        assert final["decline_reason"] == "acceptance_timeout", final


async def _all_settled(payments: Payments, transactions: list[int]) -> bool:
    for tx in transactions:
        row = await payments.row(tx)
        if row is None or row["cancel_owed"] or row["next_poll_at"] is not None:
            return False
        peer = await payments.peer_payment(tx)
        if peer is None or peer["status"] != "cancelled":
            return False
    return True


async def test_two_pollers_cancel_each_expired_payment_once(payments: Payments) -> None:
    expired_before = await asyncio.to_thread(_poll_actions, payments.stack, "expire")
    transactions = await _payments_left_waiting(payments)
    await _all_expired(payments, transactions)
    await eventually(
        lambda: _all_settled(payments, transactions), timeout=20, what="cancels settled"
    )
    await asyncio.sleep(2)  # four more poll rounds in each worker: nothing more may happen

    calls = await _cancel_calls(payments)
    ids = {payment_id_for("mobi", str(tx)) for tx in transactions}
    per_payment = Counter(call["path"].split("/")[-2] for call in calls)
    assert per_payment == dict.fromkeys(ids, 1), per_payment
    assert all(call["status"] == 200 for call in calls), calls
    expired_after = await asyncio.to_thread(_poll_actions, payments.stack, "expire")
    expired = {url: expired_after[url] - expired_before.get(url, 0) for url in expired_after}
    assert sum(expired.values()) == PAYMENTS_PER_TEST, expired  # one expiry each, no repeats
    assert all(count > 0 for count in expired.values()), expired  # both workers polled


async def test_two_pollers_retry_a_failed_cancel_once_each(payments: Payments) -> None:
    transactions = await _payments_left_waiting(payments)
    # The first cancel of every payment fails with a 500; the poll must retry it.
    await payments.fault("/cancel", "error", times=PAYMENTS_PER_TEST)
    await _all_expired(payments, transactions)
    await eventually(
        lambda: _all_settled(payments, transactions), timeout=30, what="cancels retried"
    )
    await asyncio.sleep(2)

    calls = await _cancel_calls(payments)
    ids = {payment_id_for("mobi", str(tx)) for tx in transactions}
    succeeded = Counter(call["path"].split("/")[-2] for call in calls if call["status"] == 200)
    assert succeeded == dict.fromkeys(ids, 1), succeeded
    failed = [call for call in calls if call["status"] != 200]
    assert len(failed) == PAYMENTS_PER_TEST, failed
    for tx in transactions:
        assert (await payments.status(tx)).json()["decline_reason"] == "acceptance_timeout"
