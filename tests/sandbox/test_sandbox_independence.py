"""The sandbox models the peers it fakes on its own: it imports nothing from the
processors (whose clients carry our other model of those peers) nor their model of
the payments service, so a mistake in one model shows up against the other."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from sandbox.events import InMemoryPaymentEventPublisher
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentEvent,
    MerchPaymentState,
    MerchRefund,
)
from tests.sandbox.bodies import payment

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
FORBIDDEN = ("processors", "schemas.merch_payments")
PAYMENTS = "/contractor-merch-payments/internal/v1/payments"


def forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def imported_modules(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            modules.add(node.module)
            # `from schemas import merch_payments` names the module in the alias.
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_no_sandbox_module_imports_the_processors_or_their_payments_model() -> None:
    offenders = {
        f"{source.relative_to(SANDBOX.parent)}: {module}"
        for source in SANDBOX.rglob("*.py")
        for module in imported_modules(source)
        if forbidden(module)
    }

    assert sorted(SANDBOX.rglob("*.py")), "no sandbox sources found"
    assert offenders == set()


def test_the_running_sandbox_loads_neither_even_indirectly() -> None:
    probe = (
        "import sys, sandbox.app, sandbox.__main__\n"
        f"names = {FORBIDDEN!r}\n"
        "print('\\n'.join(m for m in sys.modules"
        " if any(m == n or m.startswith(n + '.') for n in names)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=SANDBOX.parent,
        timeout=60,
    )

    assert loaded.stdout.split() == []


async def test_what_the_fake_payments_service_says_is_what_the_processors_read(
    client: httpx.AsyncClient,
    add_driver: Callable[..., Awaitable[dict[str, Any]]],
    publisher: InMemoryPaymentEventPublisher,
) -> None:
    """The two models meet here: our client's model reads the fake's answers and events."""
    await add_driver(balance=20_000)
    request = CreateMerchPayment.model_validate(payment())  # what our client sends

    created = await client.post(PAYMENTS, json=request.model_dump(mode="json"))
    refunded = await client.post(
        f"{PAYMENTS}/pay-1/refunds",
        json=CreateMerchRefund(refund_id="r-1", amount=50).model_dump(mode="json"),
    )

    state = MerchPaymentState.model_validate_json(created.content)
    assert (state.status, state.amount, state.currency) == ("confirmed", 15_050, "RUB")
    assert MerchRefund.model_validate_json(refunded.content).refunded_total == 50
    [event] = [
        MerchPaymentEvent.model_validate_json(p.event.model_dump_json())
        for p in publisher.published
    ]
    assert (event.payment_id, event.status) == ("pay-1", "confirmed")
