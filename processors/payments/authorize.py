"""Authorize a partner payment (contract 3.1): `Authorize`.

Three units of work, none open while the payments service answers: claim the
payment (insert it, or find the earlier try and decide whether to resume),
call the service, then apply its answer with a conditional write. A redelivered
command resumes where a killed worker stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog

from processors.payments import domain
from processors.payments.context import PaymentContext
from processors.payments.domain import Payment, PeerStatus
from processors.payments.errors import PaymentError, PeerRejected, PeerUnavailable
from processors.payments.finalizer import Finalizer
from processors.payments.metrics import PAYMENTS
from processors.payments.ports import NewAuthorization, PaymentStore, ReplyAddress
from schemas.envelope import Reply
from schemas.merch_payments import CreateMerchPayment, MerchPaymentMerchant
from schemas.payments import AuthorizePayment

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Claimed:
    """A pending payment to create in the service; `resumed`: an earlier try may have."""

    payment: Payment
    resumed: bool


class Authorize:
    def __init__(self, context: PaymentContext, finalizer: Finalizer) -> None:
        self._ctx = context
        self._finalizer = finalizer

    async def __call__(
        self, command: AuthorizePayment, sender: ReplyAddress | None
    ) -> Reply | None:
        """The reply for `sender`, or None: it waits, and is answered when the payment ends."""
        now = self._ctx.now()
        async with self._ctx.repository.transaction() as tx:
            claimed = await self._claim(tx, self._new_authorization(command, sender, now), sender)
        if not isinstance(claimed, _Claimed):
            return claimed
        payment, resumed = claimed.payment, claimed.resumed
        if domain.too_late_to_create(
            command.requested_at, now, self._ctx.timing.acceptance_timeout
        ):
            return await self._finalizer.decline_unavailable(payment, sender, maybe_created=resumed)
        try:
            state = await self._ctx.payments_service.create(_create_request(command))
        except PeerUnavailable as exc:
            if exc.request_not_sent and not resumed:
                return await self._finalizer.decline_unavailable(
                    payment, sender, maybe_created=False
                )
            # It may exist: stay pending; the poll finds out.
            log.warning("payment_create_unknown", payment_id=payment.payment_id, error=str(exc))
            async with self._ctx.repository.transaction() as tx:
                await tx.reschedule(payment.payment_id, now + self._ctx.timing.poll_interval)
            PAYMENTS.labels(command.partner, "pending", "").inc()
            return None
        except PeerRejected as exc:  # a refusal, or "not found": nothing was created
            log.warning("payment_create_refused", payment_id=payment.payment_id, error=str(exc))
            return await self._finalizer.decline_unavailable(payment, sender, maybe_created=False)
        return await self._finalizer.apply_peer_state(payment, state, sender)

    def _new_authorization(
        self, command: AuthorizePayment, sender: ReplyAddress | None, now: datetime
    ) -> NewAuthorization:
        return NewAuthorization(
            payment_id=command.payment_id,
            partner=command.partner,
            transaction_id=command.transaction_id,
            request_hash=domain.request_fingerprint(command),
            amount=command.amount,
            currency=command.currency,
            merchant=command.merchant,
            terminal_id=command.terminal_id,
            acceptance_deadline=now + self._ctx.timing.acceptance_timeout,
            first_poll_at=now + self._ctx.timing.create_grace,
            waiter=sender,
        )

    async def _claim(
        self, tx: PaymentStore, new: NewAuthorization, sender: ReplyAddress | None
    ) -> _Claimed | Reply | None:
        """The payment to create, or the answer when there is nothing to create."""
        payment = await tx.insert_authorization(new)
        if payment is not None:
            return _Claimed(payment, resumed=False)
        existing = await tx.find(new.partner, new.transaction_id)
        if existing is None:  # deleted in between: nothing sane to do but retry
            raise RuntimeError("payment row vanished during authorization")
        try:
            domain.check_same_request(existing, new.request_hash)
        except PaymentError as error:
            return Reply.failure(error.code, error.message)
        if not existing.authorized:
            # The cancel came first: answer `cancelled`, create nothing.
            attached = await tx.attach_authorization(existing.payment_id, new)
            PAYMENTS.labels(new.partner, "cancelled", "").inc()
            return Reply.success((attached or existing).result())
        if domain.is_final(existing.status):
            return Reply.success(existing.result())
        if sender is not None:
            await tx.add_waiter(existing.payment_id, sender)
        if existing.peer_status is PeerStatus.PENDING_ACCEPTANCE:
            return None  # answered when the driver answers
        # Outcome unknown (a crash or an outage): resume. An earlier try may have
        # created it, so "not created now" proves nothing.
        return _Claimed(existing, resumed=True)


def _create_request(command: AuthorizePayment) -> CreateMerchPayment:
    return CreateMerchPayment(
        payment_id=command.payment_id,
        qr_code=command.qr_code,
        amount=command.amount,
        currency=command.currency,
        partner=command.partner,
        external_id=command.transaction_id,
        merchant=MerchPaymentMerchant(
            id=command.merchant.id, name=command.merchant.name, mcc=command.merchant.mcc
        ),
    )
