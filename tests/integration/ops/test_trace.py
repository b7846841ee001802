"""`ops trace`: a payment's story in order, with causes, peer calls and correlation ids."""

from __future__ import annotations

from typing import Any

from ingress.payment_requests import payment_id_for
from tests.integration.conftest import RunningStack
from tests.integration.ops.conftest import drop_status_events, ops_json, run_ops
from tests.integration.payments.conftest import Payments, eventually, new_transaction_id


def changes(story: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["cause"], s["what"]) for s in story["steps"] if s["kind"] == "change"]


async def test_trace_shows_hold_poll_and_refund_in_order(
    stack: RunningStack, payments: Payments
) -> None:
    driver = await payments.driver(acceptance="manual")
    tx = new_transaction_id()
    payment_id = payment_id_for("mobi", str(tx))
    # Held for the driver's acceptance; the service's event is lost, so the poll finds it.
    await drop_status_events(payments, True)
    held = await payments.authorize(payments.body(tx, driver.qr_code))
    assert held.json()["status"] == "pending"
    (await payments.driver_answers(tx, "accept")).raise_for_status()
    await payments.wait_status(tx, "approved")
    await drop_status_events(payments, False)
    refund = await payments.refund(tx, f"r-{tx}", 5000)
    assert refund.status_code == 200, refund.text

    async def journal_complete() -> Any:
        (story,) = ops_json(stack, "trace", payment_id)
        calls = [s for s in story["steps"] if s["kind"] == "peer call"]
        return story if any("refund" in c["what"] for c in calls) else None

    story = await eventually(journal_complete, what="the refund call in the journal")
    assert story["current"]["status"] == "approved"
    assert story["current"]["refunded_total"] == 5000
    assert changes(story) == [
        ("authorize", "recorded: pending"),
        ("authorize", "peer_status - -> pending_acceptance"),
        ("poll", "status pending -> approved; peer_status pending_acceptance -> confirmed"),
        ("refund", "refunded_total 0 -> 5000"),
    ]
    calls = [s["what"].split(":")[0] for s in story["steps"] if s["kind"] == "peer call"]
    assert calls[0] == "create" and "get" in calls and calls[-1] == "refund"
    steps = story["steps"]
    assert [s["at"] for s in steps] == sorted(s["at"] for s in steps)
    assert story["correlation_ids"], "the partner commands' correlation ids"

    # The same story by the partner's transaction id, as text for a person.
    text = run_ops(stack, "trace", f"mobi:{tx}").stdout
    assert f"payment {payment_id}" in text
    assert f"payment_id={payment_id}" in text
    assert driver.qr_code not in text
    for cid in story["correlation_ids"]:
        assert f"correlation_id={cid}" in text
    assert run_ops(stack, "trace", str(tx)).stdout == text
    assert "Nothing known" in run_ops(stack, "trace", "no-such-id", expect=1).stdout
