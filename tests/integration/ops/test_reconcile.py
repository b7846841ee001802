"""`ops reconcile`: a payment the service confirmed while its event was lost is found,
reported, and settled by `--fix` (forward only, nothing else touched)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from ingress.payment_requests import payment_id_for
from tests.integration.conftest import RunningStack
from tests.integration.ops.conftest import (
    REPO,
    drop_status_events,
    ops_command,
    ops_env,
    ops_json,
    run_ops,
)
from tests.integration.payments.conftest import Payments, eventually, new_transaction_id


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def differences_of(report: dict[str, Any], payment_id: str) -> list[dict[str, Any]]:
    return [d for d in report["differences"] if d["payment_id"] == payment_id]


async def test_reconcile_finds_a_lost_confirmation_and_fix_settles_it(
    quiet_stack: RunningStack, quiet_payments: Payments
) -> None:
    stack, payments = quiet_stack, quiet_payments
    driver = await payments.driver(acceptance="manual")
    tx, settled_tx = new_transaction_id(), new_transaction_id()
    payment_id = payment_id_for("mobi", str(tx))
    # One payment that agrees with the service, and one whose confirmation is lost.
    auto = await payments.driver()
    ok = await payments.authorize(payments.body(settled_tx, auto.qr_code))
    assert ok.json()["status"] == "approved"
    await drop_status_events(payments, True)
    held = await payments.authorize(payments.body(tx, driver.qr_code))
    assert held.json()["status"] == "pending"
    (await payments.driver_answers(tx, "accept")).raise_for_status()
    assert (await payments.peer_payment(tx) or {})["status"] == "confirmed"
    assert (await payments.status(tx)).json()["status"] == "pending"  # the poll is a minute away

    report = ops_json(stack, "reconcile", "--since", "10m", expect=1)
    (difference,) = differences_of(report, payment_id)
    assert difference["kind"] == "final_there_pending_here"
    assert difference["ours"] == "pending" and difference["theirs"] == "confirmed"
    assert difference["fixable"] is True
    assert differences_of(report, payment_id_for("mobi", str(settled_tx))) == []
    assert (await payments.status(tx)).json()["status"] == "pending"  # a report changes nothing

    # Other tests' payments may differ too (the sandbox forgets on reset): look at ours.
    text = run_ops(stack, "reconcile", "--since", "10m", "--fix", expect=None).stdout
    assert "Fixed " in text
    assert (await payments.status(tx)).json()["status"] == "approved"
    assert [e["kind"] for e in await payments.ledger(driver)] == ["debit"]
    (story,) = ops_json(stack, "trace", payment_id)
    assert [s["cause"] for s in story["steps"] if s["kind"] == "change"][-1] == "reconcile", story
    after = ops_json(stack, "reconcile", "--since", "10m", expect=None)
    assert differences_of(after, payment_id) == []


async def test_periodic_reconcile_exports_its_differences_for_prometheus(
    quiet_stack: RunningStack, quiet_payments: Payments
) -> None:
    stack, payments = quiet_stack, quiet_payments
    driver = await payments.driver(acceptance="manual")
    tx = new_transaction_id()
    await drop_status_events(payments, True)
    await payments.authorize(payments.body(tx, driver.qr_code))
    (await payments.driver_answers(tx, "accept")).raise_for_status()

    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *ops_command("reconcile", "--since", "10m", "--every", "1s", "--metrics-port", str(port)),
        cwd=REPO,
        env=ops_env(stack),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:

        async def differences() -> float | None:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            except httpx.HTTPError:
                return None
            for line in text.splitlines():
                if line.startswith('reconcile_differences{kind="final_there_pending_here"}'):
                    return float(line.split()[-1]) or None
            return None

        assert await eventually(differences, timeout=30, what="the differences metric") >= 1
    finally:
        process.terminate()
        await process.wait()
