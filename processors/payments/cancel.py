"""Cancel a partner payment (contract 3.1): `Cancel`, and `SettleCancel`, which
tells the payments service about a cancel we owe it (also run by the poll).

The cancel is decided here in short transactions (a compare-and-set on the state
read, retried while events move it); the service is told afterwards, with no
connection held, and a failure there leaves the cancel owed for the poll.
"""

from __future__ import annotations

import structlog

from processors.payments import domain
from processors.payments.context import PaymentContext
from processors.payments.domain import CANCELLED, PENDING, Payment, PeerStatus
from processors.payments.errors import (
    PaymentError,
    PaymentsUnavailable,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
)
from processors.payments.finalizer import Finalizer
from processors.payments.metrics import CANCELS
from processors.payments.ports import Finalized, PaymentStore, ReplyAddress
from schemas.envelope import Reply
from schemas.payments import CancelPayment

log = structlog.get_logger(__name__)

# A concurrent move (event, poll) changes a payment's state at most twice.
_CANCEL_ATTEMPTS = 3


class SettleCancel:
    """Cancel in the payments service what we cancelled (or declined) here."""

    def __init__(self, context: PaymentContext) -> None:
        self._ctx = context

    async def __call__(self, payment: Payment) -> None:
        try:
            state = await self._ctx.payments_service.cancel(payment.payment_id)
            peer_status = PeerStatus.of(state.status)
        except PeerNotFound:
            peer_status = PeerStatus.NOT_CREATED
        except PeerRejected as exc:
            # Not cancellable there: it was declined, so no money moved.
            log.info("peer_cancel_refused", payment_id=payment.payment_id, code=exc.reason)
            peer_status = PeerStatus.DECLINED
        except PeerUnavailable as exc:
            log.warning("peer_cancel_deferred", payment_id=payment.payment_id, error=str(exc))
            async with self._ctx.repository.transaction() as tx:
                await tx.reschedule(payment.payment_id, self._ctx.poll_soon())
            return
        async with self._ctx.repository.transaction() as tx:
            await tx.settle_cancel(payment.payment_id, peer_status)


class Cancel:
    def __init__(
        self, context: PaymentContext, finalizer: Finalizer, settle_cancel: SettleCancel
    ) -> None:
        self._ctx = context
        self._finalizer = finalizer
        self._settle_cancel = settle_cancel

    async def __call__(self, command: CancelPayment, sender: ReplyAddress | None) -> Reply:
        try:
            payment = await self._cancel(command)
        except PaymentError as error:
            CANCELS.labels(command.partner, error.code).inc()
            return Reply.failure(error.code, error.message)
        if payment.cancel_owed:
            await self._settle_cancel(payment)
        return Reply.success(payment.result())

    async def _cancel(self, command: CancelPayment) -> Payment:
        async with self._ctx.repository.transaction() as tx:
            payment, recorded = await self._find_or_record(tx, command)
        if recorded:
            return payment
        for _ in range(_CANCEL_ATTEMPTS):
            domain.check_cancellable(payment)
            if payment.status is CANCELLED:
                CANCELS.labels(command.partner, "already_cancelled").inc()
                return payment
            finalized = await self._finalizer.move(
                payment.payment_id,
                CANCELLED,
                observed=payment.status,
                cancel_owed=payment.peer_status is not PeerStatus.NOT_CREATED,
                poll_soon=True,
            )
            if finalized is not None:
                return await self._cancelled(command, payment, finalized)
            async with self._ctx.repository.transaction() as tx:
                current = await tx.find_by_id(payment.payment_id)
            if current is None:
                raise RuntimeError("payment row vanished during cancel")
            payment = current
        raise PaymentsUnavailable("The payment kept changing; repeat the cancel.")

    async def _find_or_record(
        self, tx: PaymentStore, command: CancelPayment
    ) -> tuple[Payment, bool]:
        """The payment, or (True) a cancel recorded before its authorization arrives."""
        payment = await tx.find(command.partner, command.transaction_id)
        if payment is not None:
            return payment, False
        recorded = await tx.record_cancel_first(
            command.payment_id, command.partner, command.transaction_id
        )
        if recorded is not None:
            CANCELS.labels(command.partner, "recorded_before_authorization").inc()
            log.info("cancel_before_authorization", payment_id=recorded.payment_id)
            return recorded, True
        payment = await tx.find(command.partner, command.transaction_id)
        if payment is None:
            raise RuntimeError("payment row vanished during cancel")
        return payment, False

    async def _cancelled(
        self, command: CancelPayment, before: Payment, finalized: Finalized
    ) -> Payment:
        self._finalizer.recently_final.remember(before.payment_id, CANCELLED)
        CANCELS.labels(command.partner, "cancelled").inc()
        if before.status is PENDING:
            await self._finalizer.announce(finalized, None)
        return finalized.payment
