"""Refund part or all of an approved payment (contract 3.1): `MakeRefund`, and
`SendRefund`, which sends a reserved refund to the payments service (also run by
the poll for refunds whose outcome is unknown).

The refund is reserved in a short transaction (its amount held on the payment,
so two refunds cannot both take the last of it); the service is called with no
connection held; the outcome is written conditionally afterwards.
"""

from __future__ import annotations

from processors.payments import domain
from processors.payments.context import PaymentContext
from processors.payments.domain import RefundStatus
from processors.payments.errors import (
    IdempotencyConflict,
    PaymentError,
    PaymentNotFound,
    PaymentsUnavailable,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
    RefundExceedsPayment,
    refund_error,
)
from processors.payments.metrics import REFUNDS
from processors.payments.ports import PaymentStore, Refund, ReplyAddress
from schemas.envelope import Reply
from schemas.merch_payments import CreateMerchRefund
from schemas.payments import RefundPayment, RefundResult


class SendRefund:
    def __init__(self, context: PaymentContext) -> None:
        self._ctx = context

    async def __call__(self, refund: Refund) -> RefundResult:
        """The refund's result once the service confirms it; a `PaymentError` otherwise."""
        try:
            await self._ctx.payments_service.refund(
                refund.payment_id,
                CreateMerchRefund(refund_id=refund.refund_id, amount=refund.amount),
            )
        except PeerRejected as exc:  # a refusal, or "not found"
            code = PaymentNotFound.code if isinstance(exc, PeerNotFound) else exc.reason
            error = refund_error(code)
            async with self._ctx.repository.transaction() as tx:
                await tx.fail_refund(refund.partner, refund.refund_id, error.code)
            raise error("The payments service refused the refund.") from exc
        except PeerUnavailable as exc:
            async with self._ctx.repository.transaction() as tx:
                await tx.reschedule_refund(refund.partner, refund.refund_id, self._ctx.poll_soon())
            raise PaymentsUnavailable(
                "The payments service did not confirm the refund;"
                " repeat it with the same refund_id."
            ) from exc
        async with self._ctx.repository.transaction() as tx:
            total = await tx.complete_refund(refund.partner, refund.refund_id)
        return _refund_result(refund, total)


class MakeRefund:
    def __init__(self, context: PaymentContext, send_refund: SendRefund) -> None:
        self._ctx = context
        self._send_refund = send_refund

    async def __call__(self, command: RefundPayment, sender: ReplyAddress | None) -> Reply:
        try:
            async with self._ctx.repository.transaction() as tx:
                known = await self._reserve(tx, command)
            result = known if isinstance(known, RefundResult) else await self._send_refund(known)
        except PaymentError as error:
            REFUNDS.labels(command.partner, error.code).inc()
            return Reply.failure(error.code, error.message)
        REFUNDS.labels(command.partner, "succeeded").inc()
        return Reply.success(result)

    async def _reserve(self, tx: PaymentStore, command: RefundPayment) -> Refund | RefundResult:
        """The refund to send (reserved now or by an earlier try), or its known result."""
        refund = await tx.find_refund(command.partner, command.refund_id)
        if refund is None:
            payment = await tx.find(command.partner, command.transaction_id)
            if payment is None or not payment.authorized:
                raise PaymentNotFound("No payment with this transaction_id.")
            domain.check_refund(payment, command.amount)
            poll_at = self._ctx.now() + self._ctx.timing.create_grace
            refund = await tx.reserve_refund(payment, command.refund_id, command.amount, poll_at)
            if refund is None:  # a concurrent refund took the id or the remainder
                refund = await tx.find_refund(command.partner, command.refund_id)
                if refund is None:
                    raise RefundExceedsPayment("The refund exceeds what remains.")
        if refund.transaction_id != command.transaction_id or refund.amount != command.amount:
            raise IdempotencyConflict("This refund_id was already used with another body.")
        if refund.status is RefundStatus.FAILED:
            raise refund_error(refund.failure_code)("The refund was refused.")
        if refund.status is RefundStatus.SUCCEEDED:
            payment = await tx.find_by_id(refund.payment_id)
            total = payment.refunded_total if payment is not None else refund.amount
            return _refund_result(refund, total)
        return refund


def _refund_result(refund: Refund, refunded_total: int) -> RefundResult:
    return RefundResult(
        partner=refund.partner,
        transaction_id=refund.transaction_id,
        payment_id=refund.payment_id,
        refund_id=refund.refund_id,
        amount=refund.amount,
        refunded_total=refunded_total,
    )
