"""The payments domain, partner-neutral and pure: states, forward-only moves, what the
payments service's answers mean for us, refund arithmetic, and the poller's decisions.

No I/O here; the service layer feeds it records and acts on its answers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from processors.payments.errors import (
    IdempotencyConflict,
    PaymentNotCancellable,
    PaymentNotRefundable,
    RefundExceedsPayment,
)
from schemas.merch_payments import MerchPaymentStatus
from schemas.payments import AuthorizePayment, DeclineReason, PaymentResult, PaymentStatus

PENDING = PaymentStatus.PENDING
APPROVED = PaymentStatus.APPROVED
DECLINED = PaymentStatus.DECLINED
CANCELLED = PaymentStatus.CANCELLED

FINAL = frozenset({APPROVED, DECLINED, CANCELLED})

# The only moves a payment makes (the database enforces the same with a trigger).
_MOVES: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PENDING: frozenset({APPROVED, DECLINED, CANCELLED}),
    APPROVED: frozenset({CANCELLED}),
    DECLINED: frozenset(),
    CANCELLED: frozenset(),
}

CANCELLABLE = frozenset({PENDING, APPROVED})


def can_move(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in _MOVES[current]


def sources_of(target: PaymentStatus) -> frozenset[PaymentStatus]:
    """The statuses a payment may move to `target` from (what a conditional write checks)."""
    return frozenset(current for current, targets in _MOVES.items() if target in targets)


class PeerStatus(StrEnum):
    """The last status the payments service told us of a payment (`payments.peer_status`)."""

    NOT_CREATED = "not_created"  # it surely never had the payment
    PENDING_ACCEPTANCE = "pending_acceptance"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"

    @classmethod
    def of(cls, status: MerchPaymentStatus) -> PeerStatus:
        return cls(status.value)


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


def is_final(status: PaymentStatus) -> bool:
    return status in FINAL


def request_fingerprint(command: AuthorizePayment) -> bytes:
    """A digest of what makes two authorizations "the same request".

    Stored instead of the body, so the QR payload is not kept past the call.
    """
    canonical = json.dumps(
        [
            command.partner,
            command.transaction_id,
            command.qr_code,
            command.amount,
            command.currency,
            command.merchant.id,
            command.merchant.name,
            command.merchant.mcc,
            command.terminal_id,
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True)
class Payment:
    """One row of the mapping, as the domain needs it."""

    payment_id: str
    partner: str
    transaction_id: str
    status: PaymentStatus
    decline_reason: DeclineReason | None
    request_hash: bytes | None
    amount: int | None
    currency: str | None
    refunded_total: int
    refunds_pending: int
    peer_status: PeerStatus | None
    cancel_owed: bool
    created_at: datetime
    acceptance_deadline: datetime | None

    @property
    def authorized(self) -> bool:
        """False for a cancel recorded before its authorization arrived."""
        return self.request_hash is not None

    def result(self) -> PaymentResult:
        return PaymentResult.model_validate(self)


def check_same_request(payment: Payment, fingerprint: bytes) -> None:
    if payment.request_hash is not None and payment.request_hash != fingerprint:
        raise IdempotencyConflict(
            "This transaction_id was already used with a different request body."
        )


# What the payments service's state means for our payment.


class PeerVerdict(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"


@dataclass(frozen=True)
class PeerOutcome:
    verdict: PeerVerdict
    decline_reason: DeclineReason | None = None

    @property
    def status(self) -> PaymentStatus | None:
        """The final status it moves a pending payment to, or None while it waits."""
        return {
            PeerVerdict.APPROVED: APPROVED,
            PeerVerdict.DECLINED: DECLINED,
            PeerVerdict.CANCELLED: CANCELLED,
        }.get(self.verdict)


_KNOWN_REASONS = {reason.value: reason for reason in DeclineReason}


def decline_reason_from_peer(reason: str | None) -> DeclineReason:
    """The payments service's reason in our vocabulary.

    A reason we do not know says the service refused without telling why in terms
    the partner understands; `payments_unavailable` is the honest answer then.
    """
    if reason is None:
        return DeclineReason.PAYMENTS_UNAVAILABLE
    return _KNOWN_REASONS.get(reason, DeclineReason.PAYMENTS_UNAVAILABLE)


def outcome_of(status: MerchPaymentStatus, reason: str | None) -> PeerOutcome:
    if status is MerchPaymentStatus.CONFIRMED:
        return PeerOutcome(PeerVerdict.APPROVED)
    if status is MerchPaymentStatus.DECLINED:
        return PeerOutcome(PeerVerdict.DECLINED, decline_reason_from_peer(reason))
    if status is MerchPaymentStatus.CANCELLED:
        return PeerOutcome(PeerVerdict.CANCELLED)
    return PeerOutcome(PeerVerdict.AWAITING_ACCEPTANCE)


def peer_payment_is_live(peer_status: MerchPaymentStatus) -> bool:
    """Whether the service may hold (or still take) the driver's money for it."""
    return peer_status in (MerchPaymentStatus.PENDING_ACCEPTANCE, MerchPaymentStatus.CONFIRMED)


# Refund arithmetic.


def check_refund(payment: Payment, amount: int) -> None:
    """Raise unless `amount` can be refunded from `payment` now.

    Refunds in flight count against what remains, so two of them cannot both
    take the last of it.
    """
    if payment.status is not APPROVED or payment.amount is None:
        raise PaymentNotRefundable(f"A {payment.status.value} payment cannot be refunded.")
    remaining = payment.amount - payment.refunded_total - payment.refunds_pending
    if amount > remaining:
        raise RefundExceedsPayment(f"The refund exceeds what remains of the payment ({remaining}).")


def check_cancellable(payment: Payment) -> None:
    """Pending and approved payments can be cancelled; a cancelled one again, harmlessly."""
    if payment.status is DECLINED:
        raise PaymentNotCancellable("A declined payment cannot be cancelled.")


# The poller's decisions.


class PollAction(StrEnum):
    SETTLE_CANCEL = "settle_cancel"  # tell the payments service about a cancel we owe it
    EXPIRE = "expire"  # pending past its acceptance deadline: decline and cancel
    CHECK_STATUS = "check_status"  # ask the payments service where the payment is
    FORGET = "forget"  # final and nothing owed: stop polling it


def poll_action(payment: Payment, now: datetime) -> PollAction:
    if payment.status is PENDING:
        if payment.acceptance_deadline is not None and now >= payment.acceptance_deadline:
            return PollAction.EXPIRE
        return PollAction.CHECK_STATUS
    if payment.cancel_owed:
        return PollAction.SETTLE_CANCEL
    return PollAction.FORGET


def expiry_reason(payment: Payment) -> DeclineReason:
    """Why a payment still pending at its deadline is declined."""
    if payment.peer_status is PeerStatus.PENDING_ACCEPTANCE:
        return DeclineReason.ACCEPTANCE_TIMEOUT
    return DeclineReason.PAYMENTS_UNAVAILABLE


def unknown_create_is_settled(payment: Payment, now: datetime, grace: timedelta) -> bool:
    """Whether a payment the service does not know can be taken as never created.

    After `grace` no create of ours can still be on its way to the service.
    """
    return now - payment.created_at >= grace


def too_late_to_create(requested_at: datetime, now: datetime, acceptance: timedelta) -> bool:
    """An authorization that waited in the queue past its whole acceptance window is not
    sent to the payments service: nobody waits for it any more."""
    return now - requested_at >= acceptance
