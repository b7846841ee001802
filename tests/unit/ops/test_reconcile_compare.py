"""What `ops reconcile` calls a difference, and what it may fix (forward only)."""

from __future__ import annotations

from typing import Any

import pytest

from ops.reconcile import (
    AMOUNT,
    APPROVED_HERE_NOT_THERE,
    APPROVED_THERE_NOT_HERE,
    FINAL_HERE_NOT_THERE,
    FINAL_THERE_NOT_HERE,
    MISSING_THERE,
    REFUNDED,
    compare,
)
from schemas.merch_payments import MerchPaymentState, MerchPaymentStatus
from schemas.payments import PaymentStatus


def ours(status: str, **changes: Any) -> dict[str, Any]:
    row = {
        "payment_id": "p-1",
        "partner": "mobi",
        "transaction_id": "9000001",
        "status": status,
        "decline_reason": None,
        "amount": 15050,
        "refunded_total": 0,
        "refunds_pending": 0,
        "cancel_owed": False,
    }
    return {**row, **changes}


def theirs(status: MerchPaymentStatus, **changes: Any) -> MerchPaymentState:
    return MerchPaymentState(
        payment_id="p-1", status=status, amount=15050, currency="RUB", **changes
    )


def test_agreeing_states_are_no_difference() -> None:
    assert compare(ours("approved"), theirs(MerchPaymentStatus.CONFIRMED)) == []
    assert compare(ours("pending"), theirs(MerchPaymentStatus.PENDING_ACCEPTANCE)) == []
    declined = ours("declined", decline_reason="insufficient_funds")
    assert compare(declined, theirs(MerchPaymentStatus.DECLINED)) == []
    assert compare(declined, None) == []  # never created there


@pytest.mark.parametrize(
    ("here", "there", "kind", "fixed_to"),
    [
        ("pending", MerchPaymentStatus.CONFIRMED, FINAL_THERE_NOT_HERE, PaymentStatus.APPROVED),
        (
            "approved",
            MerchPaymentStatus.CANCELLED,
            APPROVED_HERE_NOT_THERE,
            PaymentStatus.CANCELLED,
        ),
    ],
)
def test_the_services_final_state_moves_ours_forward(
    here: str, there: MerchPaymentStatus, kind: str, fixed_to: PaymentStatus
) -> None:
    (difference,) = compare(ours(here), theirs(there))
    assert difference.kind == kind
    assert difference.fix == (fixed_to, None, there.value)


def test_declined_there_while_pending_here_takes_the_services_reason() -> None:
    (difference,) = compare(
        ours("pending"), theirs(MerchPaymentStatus.DECLINED, decline_reason="driver_rejected")
    )
    assert difference.fix == (PaymentStatus.DECLINED, "driver_rejected", "declined")


def test_a_final_state_is_never_moved_backwards() -> None:
    (charged,) = compare(
        ours("declined", decline_reason="acceptance_timeout"), theirs(MerchPaymentStatus.CONFIRMED)
    )
    assert charged.kind == APPROVED_THERE_NOT_HERE and charged.fix is None
    (refused,) = compare(ours("approved"), theirs(MerchPaymentStatus.DECLINED))
    assert refused.kind == APPROVED_HERE_NOT_THERE and refused.fix is None
    (waiting,) = compare(ours("approved"), theirs(MerchPaymentStatus.PENDING_ACCEPTANCE))
    assert waiting.kind == FINAL_HERE_NOT_THERE and waiting.fix is None


def test_an_owed_cancel_is_reported_as_in_hand() -> None:
    (difference,) = compare(
        ours("cancelled", cancel_owed=True), theirs(MerchPaymentStatus.CONFIRMED)
    )
    assert difference.fix is None and "cancel is owed" in difference.note


def test_missing_amounts_and_refunds_are_reported() -> None:
    assert [d.kind for d in compare(ours("approved"), None)] == [MISSING_THERE]
    (amount,) = compare(ours("approved", amount=100), theirs(MerchPaymentStatus.CONFIRMED))
    assert amount.kind == AMOUNT and amount.fix is None
    (refunded,) = compare(
        ours("approved", refunded_total=500), theirs(MerchPaymentStatus.CONFIRMED)
    )
    assert refunded.kind == REFUNDED
    in_flight = ours("approved", refunded_total=0, refunds_pending=500)
    assert compare(in_flight, theirs(MerchPaymentStatus.CONFIRMED, refunded_total=500)) == []
