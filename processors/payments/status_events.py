"""Status changes the payments service announces (`merch-payment-events`): `StatusEvents`."""

from __future__ import annotations

from processors.payments import domain
from processors.payments.context import PaymentContext
from processors.payments.domain import APPROVED, CANCELLED, DECLINED, PENDING, PeerStatus
from processors.payments.finalizer import Finalizer
from processors.payments.metrics import EVENTS
from schemas.merch_payments import MerchPaymentEvent, MerchPaymentState, MerchPaymentStatus


class StatusEvents:
    def __init__(self, context: PaymentContext, finalizer: Finalizer) -> None:
        self._ctx = context
        self._finalizer = finalizer

    async def __call__(self, event: MerchPaymentEvent) -> None:
        known = self._finalizer.recently_final.get(event.payment_id)
        if known is not None and known is domain.outcome_of(event.status, None).status:
            EVENTS.labels("no_change").inc()
            return
        async with self._ctx.repository.transaction() as tx:
            payment = await tx.find_by_id(event.payment_id)
        if payment is None:
            EVENTS.labels("unknown_payment").inc()
        elif payment.status is PENDING:
            state = MerchPaymentState(
                payment_id=event.payment_id,
                status=event.status,
                decline_reason=event.decline_reason,
            )
            await self._finalizer.apply_peer_state(payment, state, None)
            EVENTS.labels("applied").inc()
        elif payment.status is APPROVED and event.status is MerchPaymentStatus.CANCELLED:
            finalized = await self._finalizer.move(
                payment.payment_id,
                CANCELLED,
                observed=APPROVED,
                peer_status=PeerStatus.CANCELLED,
            )
            await self._finalizer.settle(payment, finalized, None)
            EVENTS.labels("cancelled_by_service").inc()
        elif domain.peer_payment_is_live(event.status) and payment.status in (DECLINED, CANCELLED):
            await self._finalizer.compensate_if_dead(payment.payment_id)
            EVENTS.labels("compensated").inc()
        else:
            EVENTS.labels("no_change").inc()
