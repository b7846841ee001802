"""Errors of the payments capability, in one place.

`PaymentError`s are the use cases' refusals, each with the contract's code (the
ingress maps codes to HTTP statuses with `schemas.errors.HTTP_STATUS_BY_CODE`).
Peer errors are the processors' shared family (`processors.peer_errors`): what
the payments service adapter raises.
"""

from __future__ import annotations

from processors.peer_errors import PeerError, PeerNotFound, PeerRejected, PeerUnavailable

__all__ = [
    "IdempotencyConflict",
    "PaymentError",
    "PaymentNotCancellable",
    "PaymentNotFound",
    "PaymentNotRefundable",
    "PaymentsUnavailable",
    "PeerError",
    "PeerNotFound",
    "PeerRejected",
    "PeerUnavailable",
    "RefundExceedsPayment",
    "refund_error",
]


class PaymentError(Exception):
    code = "payment_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PaymentNotFound(PaymentError):
    code = "payment_not_found"


class IdempotencyConflict(PaymentError):
    code = "idempotency_conflict"


class PaymentNotCancellable(PaymentError):
    code = "payment_not_cancellable"


class PaymentNotRefundable(PaymentError):
    code = "payment_not_refundable"


class RefundExceedsPayment(PaymentError):
    code = "refund_exceeds_payment"


class PaymentsUnavailable(PaymentError):
    """The payments service could not confirm the operation; repeating it is safe."""

    code = "payments_unavailable"


# The refusals a refund can end with; any other code of the service reads as "unavailable".
_REFUND_ERRORS: dict[str, type[PaymentError]] = {
    error.code: error
    for error in (RefundExceedsPayment, PaymentNotRefundable, IdempotencyConflict, PaymentNotFound)
}


def refund_error(code: str | None) -> type[PaymentError]:
    """The error a refund refused with `code` ends with."""
    return _REFUND_ERRORS.get(code or "", PaymentsUnavailable)
