"""Moving a payment to a final state and answering everyone who waits for it.

Shared by every use case that ends a payment (authorize, cancel, status events,
the poll). The move is one conditional write in a short transaction, allowed
only from the statuses the domain's table (`domain.sources_of`) allows; the
replies go out after the transaction has committed.
"""

from __future__ import annotations

from collections import OrderedDict

import structlog

from processors.payments import domain
from processors.payments.context import PaymentContext
from processors.payments.domain import (
    CANCELLED,
    DECLINED,
    PENDING,
    Payment,
    PeerStatus,
)
from processors.payments.metrics import PAYMENTS
from processors.payments.ports import (
    Finalized,
    FinalMove,
    ReplyAddress,
)
from schemas.envelope import Reply
from schemas.merch_payments import MerchPaymentState
from schemas.payments import DeclineReason, PaymentStatus

log = structlog.get_logger(__name__)

RECENTLY_FINAL_SIZE = 10_000


class RecentlyFinal:
    """Payments this worker just made final, so the service's event for the same
    state (it announces every change) needs no database round trip."""

    def __init__(self, size: int = RECENTLY_FINAL_SIZE) -> None:
        self._size = size
        self._statuses: OrderedDict[str, PaymentStatus] = OrderedDict()

    def get(self, payment_id: str) -> PaymentStatus | None:
        return self._statuses.get(payment_id)

    def remember(self, payment_id: str, status: PaymentStatus) -> None:
        self._statuses[payment_id] = status
        self._statuses.move_to_end(payment_id)
        while len(self._statuses) > self._size:
            self._statuses.popitem(last=False)


class Finalizer:
    def __init__(self, context: PaymentContext, recently_final: RecentlyFinal) -> None:
        self._ctx = context
        self.recently_final = recently_final

    async def move(
        self,
        payment_id: str,
        target: PaymentStatus,
        decline_reason: DeclineReason | None = None,
        *,
        observed: PaymentStatus | None = None,
        peer_status: PeerStatus | None = None,
        cancel_owed: bool = False,
        poll_soon: bool = False,
    ) -> Finalized | None:
        """Move to `target` in one short transaction; None when it no longer could.

        With `observed`, only from that status (a compare-and-set on what the caller
        read); otherwise from any status the domain allows. `cancel_owed` asks the
        poll (due after `poll_soon`) to cancel it in the payments service.
        """
        sources = domain.sources_of(target)
        if observed is not None:
            sources = sources & {observed}
        if not sources:
            return None
        poll_at = self._ctx.poll_soon() if poll_soon else None
        async with self._ctx.repository.transaction() as tx:
            move = FinalMove(target, sources, decline_reason, peer_status, cancel_owed, poll_at)
            return await tx.finalize(payment_id, move)

    async def announce(self, finalized: Finalized, sender: ReplyAddress | None) -> Reply | None:
        """Count, log and answer the waiters of a payment that just became final.

        The sender (the request being handled) gets the returned reply instead.
        """
        done = finalized.payment
        self.recently_final.remember(done.payment_id, done.status)
        reason = done.decline_reason.value if done.decline_reason else None
        PAYMENTS.labels(done.partner, done.status.value, reason or "").inc()
        log.info(
            "payment_final",
            payment_id=done.payment_id,
            partner=done.partner,
            status=done.status.value,
            decline_reason=reason,
        )
        reply = Reply.success(done.result())
        for waiter in finalized.waiters:
            if sender is not None and waiter.correlation_id == sender.correlation_id:
                continue
            await self._send(waiter, reply)
        return reply if sender is not None else None

    async def settle(
        self,
        payment: Payment,
        finalized: Finalized | None,
        sender: ReplyAddress | None,
    ) -> Reply | None:
        """Announce a move; when another worker made it first (and answered the
        waiters), the sender gets the state as it now is."""
        if finalized is not None:
            return await self.announce(finalized, sender)
        async with self._ctx.repository.transaction() as tx:
            current = await tx.find_by_id(payment.payment_id)
        return Reply.success((current or payment).result())

    async def decline_unavailable(
        self, payment: Payment, sender: ReplyAddress | None, *, maybe_created: bool
    ) -> Reply | None:
        """Decline with `payments_unavailable`.

        A payment the service may hold (`maybe_created`) is owed a cancel, which the
        poll makes; otherwise it is recorded as never created there.
        """
        finalized = await self.move(
            payment.payment_id,
            DECLINED,
            DeclineReason.PAYMENTS_UNAVAILABLE,
            observed=PENDING,
            cancel_owed=maybe_created,
            poll_soon=maybe_created,
            peer_status=None if maybe_created else PeerStatus.NOT_CREATED,
        )
        return await self.settle(payment, finalized, sender)

    async def apply_peer_state(
        self, payment: Payment, state: MerchPaymentState, sender: ReplyAddress | None
    ) -> Reply | None:
        """What the payments service says of a pending payment, applied to it."""
        outcome = domain.outcome_of(state.status, state.decline_reason)
        target = outcome.status
        if target is None:
            async with self._ctx.repository.transaction() as tx:
                await tx.await_acceptance(payment.payment_id, self._ctx.poll_soon())
            if payment.peer_status is None:
                PAYMENTS.labels(payment.partner, "pending", "").inc()
            return None
        finalized = await self.move(
            payment.payment_id,
            target,
            outcome.decline_reason,
            observed=PENDING,
            peer_status=PeerStatus.of(state.status),
        )
        if finalized is None and domain.peer_payment_is_live(state.status):
            await self.compensate_if_dead(payment.payment_id)
        return await self.settle(payment, finalized, sender)

    async def compensate_if_dead(self, payment_id: str) -> None:
        """A payment final here but live in the service is owed a cancel there."""
        async with self._ctx.repository.transaction() as tx:
            current = await tx.find_by_id(payment_id)
            if (
                current is not None
                and current.status in (DECLINED, CANCELLED)
                and not current.cancel_owed
                and current.peer_status is not PeerStatus.CANCELLED
            ):
                log.warning(
                    "payment_live_after_final", payment_id=payment_id, status=current.status.value
                )
                await tx.owe_cancel(payment_id, self._ctx.now())

    async def _send(self, address: ReplyAddress, reply: Reply) -> None:
        try:
            await self._ctx.replier.reply(address, reply)
        except Exception:
            # The partner reads the state with GET; a lost reply loses no payment.
            log.exception("payment_reply_failed", reply_to=address.reply_to)
