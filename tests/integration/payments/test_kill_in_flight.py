"""A worker SIGKILLed with 100+ commands in flight across partitions loses none and
doubles none, and its committed offsets never passed a command it had not finished
(contract section 4). Runs a stack of its own, since it kills the worker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingress.payment_requests import payment_id_for
from messaging.topics import PAYMENT_REQUESTS
from tests.integration.conftest import RunningStack
from tests.integration.ops.conftest import committed_offsets
from tests.integration.own_stack import own_stack
from tests.integration.payments.conftest import (
    Driver,
    Payments,
    eventually,
    new_transaction_id,
    payments_on,
)

CREATE = "/internal/v1/payments"
PARTITIONS = 8  # payment-requests, topics.yaml
RECOVERY_S = 90.0
HANGING = 4  # creates that hang until the worker dies

TP = tuple[str, int]


@pytest.fixture(scope="module")
def kill_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with own_stack(
        Path(tmp_path_factory.mktemp("payments-kill-in-flight")),
        env={
            "PAYMENT_ACCEPTANCE_TIMEOUT": "120",
            "PAYMENTS_SERVICE_TIMEOUT": "25",
            "SANDBOX_FAULT_TIMEOUT_SECONDS": "60",
            "PAYMENT_HOLD_TIMEOUT": "5",
            "SANDBOX_FAULT_SLOW_SECONDS": "3",
            # Work waiting for a pooled connection is in flight too: let it wait, and
            # leave connections for the others while the hanging creates hold theirs.
            "DATABASE_ACQUIRE_TIMEOUT_S": "30",
            "DATABASE_POOL_SIZE": "40",
        },
    ) as running:
        yield running


@pytest.fixture
async def payments(kill_stack: RunningStack) -> AsyncIterator[Payments]:
    # Idle connections are dropped before the ingress (uvicorn, 5 s keep-alive) drops them,
    # so a reused one is never closed under a request.
    limits = httpx.Limits(max_connections=400, keepalive_expiry=2.0)
    async with payments_on(kill_stack, timeout=60, limits=limits) as helper:
        yield helper


async def test_a_worker_killed_with_commands_in_flight_loses_and_doubles_none(
    payments: Payments,
) -> None:
    stack = payments.stack
    driver = await payments.driver(balance=10**12)
    await payments.fault(CREATE, "slow", times=None)  # every create takes 3 s

    # A first wave finishes and is committed past.
    first = [new_transaction_id() for _ in range(20)]
    first_answers = await asyncio.gather(*(_authorize(payments, driver, tx) for tx in first))
    assert {a.status_code for a in first_answers} == {200}
    for tx in first:
        await payments.wait_status(tx, "approved", timeout=30)
    offsets = await _offsets_of(stack, set(first))
    await eventually(
        lambda: _committed_past(stack, [offsets[tx] for tx in first]),
        timeout=20,
        what="the first wave committed",
    )

    # The second wave: its first creates hang, the others take 3 s, so later messages
    # finish while earlier ones of their partition do not (acks out of offset order).
    await payments.http.delete(f"{stack.sandbox_url}/_sandbox/faults")
    await payments.fault(CREATE, "timeout", times=HANGING)
    await payments.fault(CREATE, "slow", times=None, delay_ms=5000)
    # Creates no longer hold a database connection, so a whole bound's worth (128) of
    # them end together: a wave of several bounds keeps 100+ in flight while the
    # finished ones are committed past.
    second = [new_transaction_id() for _ in range(400)]
    # Read where each lands as it is produced: a slot topic consumed and idle may be
    # emptied by the janitor on the embedded broker before a later scan would see it.
    located = asyncio.create_task(_offsets_of(stack, set(second)))
    calls = [asyncio.create_task(_authorize(payments, driver, tx)) for tx in second]
    await eventually(
        lambda: _in_flight_at_least(stack, 100), timeout=20, what="100 commands in flight"
    )
    offsets |= await located

    async def finished_work_committed_and_more_in_flight() -> bool:
        approved = [tx for tx, s in (await _statuses(stack, second)).items() if s == "approved"]
        committed = await _committed(stack)
        return (
            len(approved) >= 30
            and any(offsets[tx][1] < committed.get(offsets[tx][0], -1) for tx in approved)
            and await _in_flight_at_least(stack, 100)
        )

    await eventually(
        finished_work_committed_and_more_in_flight,
        timeout=30,
        what="finished commands committed past, 100 more in flight",
    )
    stack.kill_worker("worker-1")
    finished_at_kill = await _statuses(stack, second)
    committed = await _committed(stack)
    await payments.http.delete(f"{stack.sandbox_url}/_sandbox/faults")

    # Nothing unfinished lies below a committed offset.
    unfinished = [tx for tx in second if finished_at_kill.get(tx) != "approved"]
    assert len(unfinished) >= 50, finished_at_kill  # the kill did catch work in flight
    passed = [
        (tx, offsets[tx], committed.get(offsets[tx][0]))
        for tx in unfinished
        if offsets[tx][1] < committed.get(offsets[tx][0], -1)
    ]
    assert passed == [], passed

    # Every request got an answer; after the restart every payment is approved, once.
    answers = await asyncio.gather(*calls)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    for tx in second:
        await payments.wait_status(tx, "approved", timeout=RECOVERY_S)
    ledger = await payments.ledger(driver)
    debits: dict[str, int] = {}
    for entry in ledger:
        assert entry["kind"] == "debit", entry
        debits[entry["payment_id"]] = debits.get(entry["payment_id"], 0) + 1
    assert debits == {payment_id_for("mobi", str(tx)): 1 for tx in first + second}


async def _authorize(payments: Payments, driver: Driver, tx: int) -> httpx.Response:
    """As a till does: a 503 (the broker slow to take a burst) is retried, same id."""
    for _ in range(10):
        answer = await payments.authorize(payments.body(tx, driver.qr_code))
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(0.5)
    return answer


async def _in_flight_at_least(stack: RunningStack, count: int) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            text = (await client.get(f"{stack.worker_urls[0]}/metrics")).text
        except httpx.HTTPError:
            return False
    for line in text.splitlines():
        if line.startswith("messages_in_flight "):
            return float(line.split()[1]) >= count
    return False


async def _statuses(stack: RunningStack, txs: list[int]) -> dict[int, str]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        rows = await connection.fetch(
            "SELECT transaction_id, status FROM payments "
            "WHERE partner = 'mobi' AND transaction_id = ANY($1::text[])",
            [str(tx) for tx in txs],
        )
    finally:
        await connection.close()
    return {int(row["transaction_id"]): row["status"] for row in rows}


def _slot_topics(stack: RunningStack) -> list[str]:
    return list(stack.local.stack.rotation.names(PAYMENT_REQUESTS))


async def _committed(stack: RunningStack) -> dict[TP, int]:
    """The processors group's committed offsets of every payment-requests partition."""
    tps = [TopicPartition(t, p) for t in _slot_topics(stack) for p in range(PARTITIONS)]
    offsets = await committed_offsets(stack, tps)
    return {(tp.topic, tp.partition): offset for tp, offset in offsets.items()}


async def _committed_past(stack: RunningStack, places: list[tuple[TP, int]]) -> bool:
    committed = await _committed(stack)
    return all(offset < committed.get(tp, -1) for tp, offset in places)


async def _offsets_of(stack: RunningStack, txs: set[int]) -> dict[int, tuple[TP, int]]:
    """Where each authorization of `txs` lies in the log: (topic, partition), offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    found: dict[int, tuple[TP, int]] = {}
    try:
        tps = [TopicPartition(t, p) for t in _slot_topics(stack) for p in range(PARTITIONS)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + 40
        while len(found) < len(txs) and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    command: dict[str, Any] = json.loads(record.value or b"{}")
                    tx = int(command.get("transaction_id", 0))
                    if command.get("kind") == "authorize" and tx in txs:
                        found.setdefault(tx, ((tp.topic, tp.partition), record.offset))
    finally:
        await consumer.stop()
    assert set(found) == txs, f"{len(txs) - len(found)} commands not found in the log"
    return found
