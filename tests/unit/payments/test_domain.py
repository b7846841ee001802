"""The payments domain: forward-only states, same-request checks, refunds, poll decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from processors.payments import domain, errors
from processors.payments.domain import Payment, PeerVerdict, PollAction
from schemas.merch_payments import MerchPaymentStatus
from schemas.payments import AuthorizePayment, DeclineReason, Merchant, PaymentStatus

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _command(**changes: object) -> AuthorizePayment:
    base = AuthorizePayment(
        partner="mobi",
        transaction_id="9000001",
        payment_id="p-1",
        qr_code="qr-1",
        amount=15050,
        currency="RUB",
        merchant=Merchant(id="m-17", name="Shop 17", mcc="5411"),
        terminal_id="T-3",
        requested_at=NOW,
    )
    return base.model_copy(update=changes)


def _payment(**changes: object) -> Payment:
    base = Payment(
        payment_id="p-1",
        partner="mobi",
        transaction_id="9000001",
        status=PaymentStatus.APPROVED,
        decline_reason=None,
        request_hash=b"h",
        amount=10000,
        currency="RUB",
        refunded_total=0,
        refunds_pending=0,
        peer_status=domain.PeerStatus.CONFIRMED,
        cancel_owed=False,
        created_at=NOW,
        acceptance_deadline=NOW + timedelta(seconds=90),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("pending", "approved", True),
        ("pending", "declined", True),
        ("pending", "cancelled", True),
        ("approved", "cancelled", True),
        ("approved", "pending", False),
        ("approved", "declined", False),
        ("declined", "approved", False),
        ("declined", "cancelled", False),
        ("cancelled", "approved", False),
        ("cancelled", "pending", False),
    ],
)
def test_states_only_move_forward(current: str, target: str, allowed: bool) -> None:
    assert domain.can_move(PaymentStatus(current), PaymentStatus(target)) is allowed


def test_the_same_request_has_the_same_fingerprint_and_any_change_another() -> None:
    first = domain.request_fingerprint(_command())
    assert domain.request_fingerprint(_command(requested_at=NOW + timedelta(seconds=5))) == first
    for change in (
        {"amount": 15051},
        {"qr_code": "qr-2"},
        {"currency": "ILS"},
        {"terminal_id": None},
        {"merchant": Merchant(id="m-18")},
    ):
        assert domain.request_fingerprint(_command(**change)) != first, change


def test_a_different_body_for_a_known_transaction_is_a_conflict() -> None:
    with pytest.raises(errors.IdempotencyConflict):
        domain.check_same_request(_payment(request_hash=b"a"), b"b")
    domain.check_same_request(_payment(request_hash=b"a"), b"a")
    domain.check_same_request(_payment(request_hash=None), b"anything")


@pytest.mark.parametrize(
    ("status", "reason", "verdict", "decline_reason"),
    [
        ("confirmed", None, PeerVerdict.APPROVED, None),
        ("pending_acceptance", None, PeerVerdict.AWAITING_ACCEPTANCE, None),
        ("cancelled", None, PeerVerdict.CANCELLED, None),
        ("declined", "insufficient_funds", PeerVerdict.DECLINED, DeclineReason.INSUFFICIENT_FUNDS),
        ("declined", "driver_rejected", PeerVerdict.DECLINED, DeclineReason.DRIVER_REJECTED),
        ("declined", "weird_new_reason", PeerVerdict.DECLINED, DeclineReason.PAYMENTS_UNAVAILABLE),
        ("declined", None, PeerVerdict.DECLINED, DeclineReason.PAYMENTS_UNAVAILABLE),
    ],
)
def test_the_payments_service_state_maps_to_our_outcome(
    status: str, reason: str | None, verdict: PeerVerdict, decline_reason: DeclineReason | None
) -> None:
    outcome = domain.outcome_of(MerchPaymentStatus(status), reason)
    assert outcome.verdict is verdict
    assert outcome.decline_reason == decline_reason


def test_refunds_count_those_in_flight_against_what_remains() -> None:
    payment = _payment(refunded_total=3000, refunds_pending=2000)
    domain.check_refund(payment, 5000)
    with pytest.raises(errors.RefundExceedsPayment):
        domain.check_refund(payment, 5001)


@pytest.mark.parametrize("status", ["pending", "declined", "cancelled"])
def test_only_an_approved_payment_is_refundable(status: str) -> None:
    reason = DeclineReason.INVALID_QR if status == "declined" else None
    with pytest.raises(errors.PaymentNotRefundable):
        domain.check_refund(_payment(status=PaymentStatus(status), decline_reason=reason), 1)


def test_a_declined_payment_is_not_cancellable_but_a_cancelled_one_is_again() -> None:
    with pytest.raises(errors.PaymentNotCancellable):
        domain.check_cancellable(
            _payment(status=PaymentStatus.DECLINED, decline_reason=DeclineReason.INVALID_QR)
        )
    domain.check_cancellable(_payment(status=PaymentStatus.CANCELLED))
    domain.check_cancellable(_payment(status=PaymentStatus.PENDING))


def test_the_poll_expires_pending_payments_past_their_deadline() -> None:
    pending = _payment(
        status=PaymentStatus.PENDING, peer_status=domain.PeerStatus.PENDING_ACCEPTANCE
    )
    assert domain.poll_action(pending, NOW + timedelta(seconds=89)) is PollAction.CHECK_STATUS
    assert domain.poll_action(pending, NOW + timedelta(seconds=90)) is PollAction.EXPIRE
    assert domain.expiry_reason(pending) is DeclineReason.ACCEPTANCE_TIMEOUT
    unknown = _payment(status=PaymentStatus.PENDING, peer_status=None)
    assert domain.expiry_reason(unknown) is DeclineReason.PAYMENTS_UNAVAILABLE


def test_the_poll_settles_owed_cancels_and_forgets_the_rest() -> None:
    owed = _payment(status=PaymentStatus.CANCELLED, cancel_owed=True)
    assert domain.poll_action(owed, NOW) is PollAction.SETTLE_CANCEL
    assert domain.poll_action(_payment(), NOW) is PollAction.FORGET
