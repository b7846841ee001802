"""Use cases of partner payments: authorize, cancel, refund, a status event, a poll round.

Each takes its ports as constructor arguments (no Kafka, HTTP or SQL in here) and
holds one store (one database connection) for a unit of work. Every step can be
repeated: a redelivered command or a poller resumes where a killed worker stopped.

Replies: the request being handled gets the returned `Reply` (None: it waits, and
is answered later from the row's reply addresses); other requests waiting on the
same payment are answered through the `Replier` port.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from processors.payments import domain
from processors.payments.domain import (
    APPROVED,
    CANCELLED,
    DECLINED,
    PENDING,
    Payment,
    PaymentError,
    PaymentsUnavailable,
    PollAction,
)
from processors.payments.metrics import CANCELS, EVENTS, PAYMENTS, POLL_ACTIONS, REFUNDS
from processors.payments.ports import (
    PEER_NOT_CREATED,
    Finalized,
    NewAuthorization,
    PaymentRepository,
    PaymentsService,
    PaymentStore,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
    Refund,
    Replier,
    ReplyAddress,
)
from schemas.envelope import Reply
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentEvent,
    MerchPaymentMerchant,
    MerchPaymentState,
    MerchPaymentStatus,
)
from schemas.payments import (
    AuthorizePayment,
    CancelPayment,
    DeclineReason,
    PaymentStatus,
    RefundPayment,
    RefundResult,
)

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]

RECENTLY_FINAL_SIZE = 10_000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Timing:
    acceptance_timeout: timedelta
    poll_interval: timedelta
    create_grace: timedelta
    lease: timedelta
    poll_batch: int = 100


def failure(error: PaymentError) -> Reply:
    return Reply.failure(error.code, error.message)


_REFUND_ERRORS: dict[str, type[PaymentError]] = {
    domain.RefundExceedsPayment.code: domain.RefundExceedsPayment,
    domain.PaymentNotRefundable.code: domain.PaymentNotRefundable,
    domain.IdempotencyConflict.code: domain.IdempotencyConflict,
    domain.PaymentNotFound.code: domain.PaymentNotFound,
}


class PaymentsCore:
    def __init__(
        self,
        repository: PaymentRepository,
        payments_service: PaymentsService,
        replier: Replier,
        timing: Timing,
        clock: Clock = utc_now,
    ) -> None:
        self._repository = repository
        self._peer = payments_service
        self._replier = replier
        self._timing = timing
        self._now = clock
        # Payments this worker just made final, so the service's event for the same
        # state (it announces every change) needs no database round trip.
        self._recently_final: OrderedDict[str, PaymentStatus] = OrderedDict()

    # Authorize (contract 3.1)

    async def authorize(
        self, command: AuthorizePayment, sender: ReplyAddress | None
    ) -> Reply | None:
        fingerprint = domain.request_fingerprint(command)
        now = self._now()
        new = NewAuthorization(
            payment_id=command.payment_id,
            partner=command.partner,
            transaction_id=command.transaction_id,
            request_hash=fingerprint,
            amount=command.amount,
            currency=command.currency,
            merchant=command.merchant,
            terminal_id=command.terminal_id,
            acceptance_deadline=now + self._timing.acceptance_timeout,
            first_poll_at=now + self._timing.create_grace,
            waiter=sender,
        )
        async with self._repository.unit_of_work() as store:
            payment = await store.insert_authorization(new)
            # Resuming: an earlier try may have created it, so "not created now" proves nothing.
            resumed = payment is None
            if payment is None:
                existing = await store.find(command.partner, command.transaction_id)
                if existing is None:  # deleted in between: nothing sane to do but retry
                    raise RuntimeError("payment row vanished during authorization")
                try:
                    domain.check_same_request(existing, fingerprint)
                except PaymentError as error:
                    return failure(error)
                if not existing.authorized:
                    # The cancel came first: answer `cancelled`, create nothing.
                    attached = await store.attach_authorization(existing.payment_id, new)
                    PAYMENTS.labels(command.partner, "cancelled", "").inc()
                    return Reply.success((attached or existing).result())
                if domain.is_final(existing.status):
                    return Reply.success(existing.result())
                if sender is not None:
                    await store.add_waiter(existing.payment_id, sender)
                if existing.peer_status == MerchPaymentStatus.PENDING_ACCEPTANCE.value:
                    return None  # answered when the driver answers
                payment = existing  # outcome unknown (a crash or an outage): resume
            if domain.too_late_to_create(
                command.requested_at, now, self._timing.acceptance_timeout
            ):
                if resumed:
                    return await self._decline_maybe_created(store, payment, sender)
                return await self._decline_uncreated(store, payment, sender)
            try:
                state = await self._peer.create(_create_request(command))
            except (PeerRejected, PeerNotFound) as exc:
                log.warning("payment_create_refused", payment_id=payment.payment_id, error=str(exc))
                return await self._decline_uncreated(store, payment, sender)
            except PeerUnavailable as exc:
                if exc.request_not_sent and not resumed:
                    return await self._decline_uncreated(store, payment, sender)
                # It may exist: stay pending; the poll finds out.
                log.warning("payment_create_unknown", payment_id=payment.payment_id, error=str(exc))
                await store.reschedule(payment.payment_id, now + self._timing.poll_interval)
                PAYMENTS.labels(command.partner, "pending", "").inc()
                return None
            return await self._apply_peer_state(store, payment, state, sender)

    async def _decline_uncreated(
        self, store: PaymentStore, payment: Payment, sender: ReplyAddress | None
    ) -> Reply | None:
        finalized = await store.finalize(
            payment.payment_id,
            DECLINED,
            DeclineReason.PAYMENTS_UNAVAILABLE,
            from_statuses=(PENDING,),
            peer_status=PEER_NOT_CREATED,
        )
        return await self._deliver(store, payment, finalized, sender)

    async def _decline_maybe_created(
        self, store: PaymentStore, payment: Payment, sender: ReplyAddress | None
    ) -> Reply | None:
        """Decline a payment the service may hold, and owe it a cancel (the poll makes it)."""
        finalized = await store.finalize(
            payment.payment_id,
            DECLINED,
            DeclineReason.PAYMENTS_UNAVAILABLE,
            from_statuses=(PENDING,),
            cancel_owed=True,
            poll_at=self._now() + self._timing.poll_interval,
        )
        return await self._deliver(store, payment, finalized, sender)

    async def _apply_peer_state(
        self,
        store: PaymentStore,
        payment: Payment,
        state: MerchPaymentState,
        sender: ReplyAddress | None,
    ) -> Reply | None:
        outcome = domain.outcome_of(state.status, state.decline_reason)
        target = outcome.status
        if target is None:
            await store.await_acceptance(
                payment.payment_id, self._now() + self._timing.poll_interval
            )
            if payment.peer_status is None:
                PAYMENTS.labels(payment.partner, "pending", "").inc()
            return None
        finalized = await store.finalize(
            payment.payment_id,
            target,
            outcome.decline_reason,
            from_statuses=(PENDING,),
            peer_status=state.status.value,
        )
        if finalized is None and domain.peer_payment_is_live(state.status):
            await self._compensate_if_dead(store, payment.payment_id)
        return await self._deliver(store, payment, finalized, sender)

    async def _deliver(
        self,
        store: PaymentStore,
        payment: Payment,
        finalized: Finalized | None,
        sender: ReplyAddress | None,
    ) -> Reply | None:
        """Answer everyone waiting on a payment that just became final.

        When another worker finalized it first, that worker answered the waiters;
        the sender gets the state as it now is.
        """
        if finalized is None:
            current = await store.find_by_id(payment.payment_id)
            return Reply.success((current or payment).result())
        done = finalized.payment
        self._remember_final(done.payment_id, done.status)
        PAYMENTS.labels(
            done.partner,
            done.status.value,
            done.decline_reason.value if done.decline_reason else "",
        ).inc()
        log.info(
            "payment_final",
            payment_id=done.payment_id,
            partner=done.partner,
            status=done.status.value,
            decline_reason=done.decline_reason.value if done.decline_reason else None,
        )
        reply = Reply.success(done.result())
        for waiter in finalized.waiters:
            if sender is not None and waiter.correlation_id == sender.correlation_id:
                continue
            await self._send(waiter, reply)
        return reply if sender is not None else None

    def _remember_final(self, payment_id: str, status: PaymentStatus) -> None:
        self._recently_final[payment_id] = status
        self._recently_final.move_to_end(payment_id)
        while len(self._recently_final) > RECENTLY_FINAL_SIZE:
            self._recently_final.popitem(last=False)

    async def _send(self, address: ReplyAddress, reply: Reply) -> None:
        try:
            await self._replier.reply(address, reply)
        except Exception:
            # The partner reads the state with GET; a lost reply loses no payment.
            log.exception("payment_reply_failed", reply_to=address.reply_to)

    async def _compensate_if_dead(self, store: PaymentStore, payment_id: str) -> None:
        current = await store.find_by_id(payment_id)
        if (
            current is not None
            and current.status in (DECLINED, CANCELLED)
            and not current.cancel_owed
            and current.peer_status != MerchPaymentStatus.CANCELLED.value
        ):
            log.warning(
                "payment_live_after_final", payment_id=payment_id, status=current.status.value
            )
            await store.owe_cancel(payment_id, self._now())

    # Cancel

    async def cancel(self, command: CancelPayment, sender: ReplyAddress | None) -> Reply | None:
        async with self._repository.unit_of_work() as store:
            try:
                payment = await self._cancel(store, command)
            except PaymentError as error:
                CANCELS.labels(command.partner, error.code).inc()
                return failure(error)
            if payment.cancel_owed:
                payment = await self._settle_cancel(store, payment)
            return Reply.success(payment.result())

    async def _cancel(self, store: PaymentStore, command: CancelPayment) -> Payment:
        payment = await store.find(command.partner, command.transaction_id)
        if payment is None:
            recorded = await store.record_cancel_first(
                command.payment_id, command.partner, command.transaction_id
            )
            if recorded is not None:
                CANCELS.labels(command.partner, "recorded_before_authorization").inc()
                log.info("cancel_before_authorization", payment_id=recorded.payment_id)
                return recorded
            payment = await store.find(command.partner, command.transaction_id)
            if payment is None:
                raise RuntimeError("payment row vanished during cancel")
        for _ in range(3):  # a concurrent move (event, poll) changes the state at most twice
            domain.check_cancellable(payment)
            if payment.status is CANCELLED:
                CANCELS.labels(command.partner, "already_cancelled").inc()
                return payment
            finalized = await store.finalize(
                payment.payment_id,
                CANCELLED,
                None,
                from_statuses=(payment.status,),
                cancel_owed=payment.peer_status != PEER_NOT_CREATED,
                poll_at=self._now() + self._timing.poll_interval,
            )
            if finalized is not None:
                self._remember_final(payment.payment_id, CANCELLED)
                CANCELS.labels(command.partner, "cancelled").inc()
                if payment.status is PENDING:
                    await self._deliver(store, payment, finalized, None)
                return finalized.payment
            current = await store.find_by_id(payment.payment_id)
            if current is None:
                raise RuntimeError("payment row vanished during cancel")
            payment = current
        raise PaymentsUnavailable("The payment kept changing; repeat the cancel.")

    async def _settle_cancel(self, store: PaymentStore, payment: Payment) -> Payment:
        """Cancel in the payments service what we cancelled (or declined) here."""
        try:
            state = await self._peer.cancel(payment.payment_id)
            peer_status = state.status.value
        except PeerNotFound:
            peer_status = PEER_NOT_CREATED
        except PeerRejected as exc:
            # Not cancellable there: it was declined, so no money moved.
            log.info("peer_cancel_refused", payment_id=payment.payment_id, code=exc.code)
            peer_status = MerchPaymentStatus.DECLINED.value
        except PeerUnavailable as exc:
            log.warning("peer_cancel_deferred", payment_id=payment.payment_id, error=str(exc))
            await store.reschedule(payment.payment_id, self._now() + self._timing.poll_interval)
            return payment
        await store.settle_cancel(payment.payment_id, peer_status)
        return payment

    # Refunds

    async def refund(self, command: RefundPayment, sender: ReplyAddress | None) -> Reply | None:
        async with self._repository.unit_of_work() as store:
            try:
                result = await self._refund(store, command)
            except PaymentError as error:
                REFUNDS.labels(command.partner, error.code).inc()
                return failure(error)
            REFUNDS.labels(command.partner, "succeeded").inc()
            return Reply.success(result)

    async def _refund(self, store: PaymentStore, command: RefundPayment) -> RefundResult:
        refund = await store.find_refund(command.partner, command.refund_id)
        if refund is None:
            payment = await store.find(command.partner, command.transaction_id)
            if payment is None or not payment.authorized:
                raise domain.PaymentNotFound("No payment with this transaction_id.")
            domain.check_refund(payment, command.amount)
            poll_at = self._now() + self._timing.create_grace
            refund = await store.reserve_refund(payment, command.refund_id, command.amount, poll_at)
            if refund is None:  # a concurrent refund took the id or the remainder
                refund = await store.find_refund(command.partner, command.refund_id)
                if refund is None:
                    raise domain.RefundExceedsPayment("The refund exceeds what remains.")
        if refund.transaction_id != command.transaction_id or refund.amount != command.amount:
            raise domain.IdempotencyConflict("This refund_id was already used with another body.")
        if refund.status == "failed":
            raise _REFUND_ERRORS.get(refund.failure_code or "", PaymentsUnavailable)(
                "The refund was refused."
            )
        if refund.status == "succeeded":
            payment = await store.find_by_id(refund.payment_id)
            total = payment.refunded_total if payment is not None else refund.amount
            return _refund_result(refund, total)
        return await self._send_refund(store, refund)

    async def _send_refund(self, store: PaymentStore, refund: Refund) -> RefundResult:
        try:
            await self._peer.refund(
                refund.payment_id,
                CreateMerchRefund(refund_id=refund.refund_id, amount=refund.amount),
            )
        except (PeerRejected, PeerNotFound) as exc:
            code = exc.code if isinstance(exc, PeerRejected) else domain.PaymentNotFound.code
            code = code if code in _REFUND_ERRORS else PaymentsUnavailable.code
            await store.fail_refund(refund.partner, refund.refund_id, code)
            raise _REFUND_ERRORS.get(code, PaymentsUnavailable)(
                "The payments service refused the refund."
            ) from exc
        except PeerUnavailable as exc:
            await store.reschedule_refund(
                refund.partner, refund.refund_id, self._now() + self._timing.poll_interval
            )
            raise PaymentsUnavailable(
                "The payments service did not confirm the refund;"
                " repeat it with the same refund_id."
            ) from exc
        total = await store.complete_refund(refund.partner, refund.refund_id)
        return _refund_result(refund, total)

    # Status events from the payments service

    async def on_event(self, event: MerchPaymentEvent) -> None:
        known = self._recently_final.get(event.payment_id)
        if known is not None and known is domain.outcome_of(event.status, None).status:
            EVENTS.labels("no_change").inc()
            return
        async with self._repository.unit_of_work() as store:
            payment = await store.find_by_id(event.payment_id)
            if payment is None:
                EVENTS.labels("unknown_payment").inc()
                return
            if payment.status is PENDING:
                await self._apply_peer_state(
                    store,
                    payment,
                    MerchPaymentState(
                        payment_id=event.payment_id,
                        status=event.status,
                        decline_reason=event.decline_reason,
                    ),
                    None,
                )
                EVENTS.labels("applied").inc()
            elif payment.status is APPROVED and event.status is MerchPaymentStatus.CANCELLED:
                finalized = await store.finalize(
                    payment.payment_id,
                    CANCELLED,
                    None,
                    from_statuses=(APPROVED,),
                    peer_status=event.status.value,
                )
                await self._deliver(store, payment, finalized, None)
                EVENTS.labels("cancelled_by_service").inc()
            elif domain.peer_payment_is_live(event.status) and payment.status in (
                DECLINED,
                CANCELLED,
            ):
                await self._compensate_if_dead(store, payment.payment_id)
                EVENTS.labels("compensated").inc()
            else:
                EVENTS.labels("no_change").inc()

    # The status poll

    async def poll_once(self) -> int:
        """One round: claim due payments and refunds, act on each. Returns how many."""
        now = self._now()
        lease_until = now + self._timing.lease
        async with self._repository.unit_of_work() as store:
            payments = await store.claim_due(self._timing.poll_batch, lease_until)
            for payment in payments:
                try:
                    await self._poll_payment(store, payment)
                except Exception:
                    log.exception("payment_poll_failed", payment_id=payment.payment_id)
            refunds = await store.claim_due_refunds(self._timing.poll_batch, lease_until)
            for refund in refunds:
                try:
                    await self._send_refund(store, refund)
                    POLL_ACTIONS.labels("resend_refund", "succeeded").inc()
                except PaymentError as error:
                    POLL_ACTIONS.labels("resend_refund", error.code).inc()
        return len(payments) + len(refunds)

    async def _poll_payment(self, store: PaymentStore, payment: Payment) -> None:
        now = self._now()
        action = domain.poll_action(payment, now)
        if action is PollAction.FORGET:
            await store.reschedule(payment.payment_id, None)
            POLL_ACTIONS.labels(action.value, "done").inc()
        elif action is PollAction.SETTLE_CANCEL:
            await self._settle_cancel(store, payment)
            POLL_ACTIONS.labels(action.value, "done").inc()
        elif action is PollAction.EXPIRE:
            finalized = await store.finalize(
                payment.payment_id,
                DECLINED,
                domain.expiry_reason(payment),
                from_statuses=(PENDING,),
                cancel_owed=payment.peer_status != PEER_NOT_CREATED,
                poll_at=now + self._timing.poll_interval,
            )
            await self._deliver(store, payment, finalized, None)
            if finalized is not None and finalized.payment.cancel_owed:
                await self._settle_cancel(store, finalized.payment)
            POLL_ACTIONS.labels(action.value, "done").inc()
        else:
            await self._check_status(store, payment, now)

    async def _check_status(self, store: PaymentStore, payment: Payment, now: datetime) -> None:
        try:
            state = await self._peer.get(payment.payment_id)
        except PeerNotFound:
            if domain.unknown_create_is_settled(payment, now, self._timing.create_grace):
                await self._decline_uncreated(store, payment, None)
                POLL_ACTIONS.labels("check_status", "not_created").inc()
            else:
                await store.reschedule(payment.payment_id, now + self._timing.poll_interval)
                POLL_ACTIONS.labels("check_status", "not_yet").inc()
            return
        except (PeerUnavailable, PeerRejected):
            await store.reschedule(payment.payment_id, now + self._timing.poll_interval)
            POLL_ACTIONS.labels("check_status", "unavailable").inc()
            return
        await self._apply_peer_state(store, payment, state, None)
        POLL_ACTIONS.labels("check_status", state.status.value).inc()


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


def _refund_result(refund: Refund, refunded_total: int) -> RefundResult:
    return RefundResult(
        partner=refund.partner,
        transaction_id=refund.transaction_id,
        payment_id=refund.payment_id,
        refund_id=refund.refund_id,
        amount=refund.amount,
        refunded_total=refunded_total,
    )
