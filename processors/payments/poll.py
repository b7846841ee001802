"""The status poll (`StatusPoll`): lost events, unknown outcomes, acceptance
deadlines, cancels and refunds owed to the payments service.

A round claims a batch in one short statement (leased, so another worker's poll
skips it), then acts on each item with no connection held across its peer call.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from processors.payments import domain
from processors.payments.cancel import SettleCancel
from processors.payments.context import PaymentContext
from processors.payments.domain import DECLINED, Payment, PeerStatus, PollAction
from processors.payments.errors import PaymentError, PeerNotFound, PeerRejected, PeerUnavailable
from processors.payments.finalizer import Finalizer
from processors.payments.metrics import POLL_ACTIONS
from processors.payments.refund import SendRefund

log = structlog.get_logger(__name__)


class StatusPoll:
    def __init__(
        self,
        context: PaymentContext,
        finalizer: Finalizer,
        settle_cancel: SettleCancel,
        send_refund: SendRefund,
    ) -> None:
        self._ctx = context
        self._finalizer = finalizer
        self._settle_cancel = settle_cancel
        self._send_refund = send_refund

    async def __call__(self) -> int:
        """One round: claim due payments and refunds, act on each. Returns how many."""
        lease_until = self._ctx.now() + self._ctx.timing.lease
        async with self._ctx.repository.transaction() as tx:
            payments = await tx.claim_due(self._ctx.timing.poll_batch, lease_until)
        for payment in payments:
            try:
                await self._poll_payment(payment)
            except Exception:
                log.exception("payment_poll_failed", payment_id=payment.payment_id)
        async with self._ctx.repository.transaction() as tx:
            refunds = await tx.claim_due_refunds(self._ctx.timing.poll_batch, lease_until)
        for refund in refunds:
            try:
                await self._send_refund(refund)
                POLL_ACTIONS.labels("resend_refund", "succeeded").inc()
            except PaymentError as error:
                POLL_ACTIONS.labels("resend_refund", error.code).inc()
        return len(payments) + len(refunds)

    async def _poll_payment(self, payment: Payment) -> None:
        now = self._ctx.now()
        action = domain.poll_action(payment, now)
        if action is PollAction.FORGET:
            async with self._ctx.repository.transaction() as tx:
                await tx.reschedule(payment.payment_id, None)
        elif action is PollAction.SETTLE_CANCEL:
            await self._settle_cancel(payment)
        elif action is PollAction.EXPIRE:
            await self._expire(payment)
        else:
            await self._check_status(payment, now)
            return
        POLL_ACTIONS.labels(action.value, "done").inc()

    async def _expire(self, payment: Payment) -> None:
        """Decline a payment still pending at its deadline, and cancel it in the service."""
        finalized = await self._finalizer.move(
            payment.payment_id,
            DECLINED,
            domain.expiry_reason(payment),
            cancel_owed=payment.peer_status is not PeerStatus.NOT_CREATED,
            poll_soon=True,
        )
        await self._finalizer.settle(payment, finalized, None)
        if finalized is not None and finalized.payment.cancel_owed:
            await self._settle_cancel(finalized.payment)

    async def _check_status(self, payment: Payment, now: datetime) -> None:
        try:
            state = await self._ctx.payments_service.get(payment.payment_id)
        except PeerNotFound:
            if domain.unknown_create_is_settled(payment, now, self._ctx.timing.create_grace):
                await self._finalizer.decline_unavailable(payment, None, maybe_created=False)
                POLL_ACTIONS.labels("check_status", "not_created").inc()
            else:
                await self._reschedule(payment, now)
                POLL_ACTIONS.labels("check_status", "not_yet").inc()
            return
        except (PeerUnavailable, PeerRejected):
            await self._reschedule(payment, now)
            POLL_ACTIONS.labels("check_status", "unavailable").inc()
            return
        await self._finalizer.apply_peer_state(payment, state, None)
        POLL_ACTIONS.labels("check_status", state.status.value).inc()

    async def _reschedule(self, payment: Payment, now: datetime) -> None:
        async with self._ctx.repository.transaction() as tx:
            await tx.reschedule(payment.payment_id, now + self._ctx.timing.poll_interval)
