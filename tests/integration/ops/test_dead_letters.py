"""`ops dlq`: dead letters listed by reason, shown with secrets masked, re-driven once,
never looped, and safe to re-drive again and again."""

from __future__ import annotations

import uuid
from typing import Any

from messaging.topics import PAYMENT_REQUESTS, base_topic
from tests.integration.conftest import RunningStack
from tests.integration.ops.conftest import (
    audit_lines,
    committed,
    database_refusing_connections,
    ops_json,
    produce,
    run_ops,
)
from tests.integration.payments.conftest import Payments, eventually, new_transaction_id


def letters_with(stack: RunningStack, **match: Any) -> list[dict[str, Any]]:
    listed = ops_json(stack, "dlq", "list")["dead_letters"]
    return [d for d in listed if all(d[k] == v for k, v in match.items())]


async def wait_handled(stack: RunningStack, audit: dict[str, Any]) -> None:
    """Until the processors have committed past the re-driven copy."""
    topic, partition, offset = audit["to"].rsplit("/", 2)
    await eventually(
        lambda: _past(stack, topic, int(partition), int(offset)),
        timeout=30,
        what=f"processors past {audit['to']}",
    )


async def _past(stack: RunningStack, topic: str, partition: int, offset: int) -> bool:
    return await committed(stack, topic, partition) > offset


async def test_dead_letters_are_listed_redriven_once_and_never_looped(
    quiet_stack: RunningStack, quiet_payments: Payments
) -> None:
    stack, payments = quiet_stack, quiet_payments
    # A poison message: not even JSON.
    poison_id = f"poison-{uuid.uuid4().hex[:8]}"
    await produce(
        stack,
        PAYMENT_REQUESTS,
        b"mobi:1",
        b"\x00{not json",
        [("correlation-id", poison_id.encode())],
    )
    # A good authorization that fails while the payments database turns connections away.
    driver = await payments.driver()
    tx = new_transaction_id()
    async with database_refusing_connections(stack):
        answer = await payments.authorize(payments.body(tx, driver.qr_code))
        assert answer.status_code >= 500, answer.text
    key = f"mobi:{tx}"

    poison = (
        await eventually(
            lambda: _async(letters_with(stack, correlation_id=poison_id)),
            what="poison dead-lettered",
        )
    )[0]
    failed = letters_with(stack, key=key)[0]
    assert poison["reason"] == "invalid_message"
    assert failed["reason"] == "handler_error"
    assert {poison["topic"], failed["topic"]} == {PAYMENT_REQUESTS}

    # Listed by reason, and narrowed by the filters.
    table = run_ops(stack, "dlq", "list").stdout
    assert "invalid_message" in table and "handler_error" in table
    by_reason = ops_json(stack, "dlq", "list", "--topic", PAYMENT_REQUESTS, "--since", "10m")[
        "by_reason"
    ]
    assert by_reason["invalid_message"] >= 1 and by_reason["handler_error"] >= 1
    only = ops_json(stack, "dlq", "list", "--reason", "invalid_message")["dead_letters"]
    assert {d["reason"] for d in only} == {"invalid_message"}

    # Shown with the QR code masked.
    shown = run_ops(stack, "dlq", "show", str(failed["offset"])).stdout
    assert "handler_error" in shown and key in shown
    assert driver.qr_code not in shown and "masked" in shown

    # A dry run changes nothing.
    dry = run_ops(stack, "dlq", "redrive", str(poison["offset"]), str(failed["offset"])).stdout
    assert "Dry run: 2 to re-drive" in dry
    assert await payments.row(tx) is None

    # Re-driven: the payment completes, one debit.
    done = run_ops(
        stack, "dlq", "redrive", str(poison["offset"]), str(failed["offset"]), "--yes"
    ).stdout
    audits = audit_lines(done)
    assert [a["dead_letter"] for a in audits] == [f"0/{poison['offset']}", f"0/{failed['offset']}"]
    assert all(base_topic(a["to"].rsplit("/", 2)[0]) == PAYMENT_REQUESTS for a in audits)
    body = await payments.wait_status(tx, "approved")
    assert body["amount"] == 15050
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit"]

    # The poison comes back, marked as re-driven once; it is not sent round again.
    again = (
        await eventually(
            lambda: _async(letters_with(stack, correlation_id=poison_id, redrive_count=1)),
            what="poison dead-lettered again",
        )
    )[0]
    refused = run_ops(stack, "dlq", "redrive", "--all", "--yes").stdout
    assert f"skip 0/{again['offset']}: dead-lettered again after 1 re-drive" in refused
    assert f"skip 0/{failed['offset']}: already re-driven" in refused
    assert f"skip 0/{poison['offset']}: already re-driven" in refused
    assert audit_lines(refused) == []

    # Re-driving the same message twice more (three in all) changes nothing.
    for _ in range(2):
        forced = run_ops(stack, "dlq", "redrive", str(failed["offset"]), "--yes", "--force")
        (audit,) = audit_lines(forced.stdout)
        assert audit["forced"] is True
        await wait_handled(stack, audit)
    row = await payments.row(tx)
    assert row is not None and row["status"] == "approved"
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit"]
    assert await payments.creates(tx) == 1
    assert letters_with(stack, key=key) == [failed]  # never dead-lettered again


async def _async(value: Any) -> Any:
    return value
