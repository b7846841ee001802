"""The rules of the fake payments service (contractor-merch-payments).

Create (idempotent by `payment_id`), the driver's acceptance, cancel and
refund; balances move through the driver's ledger, once per idempotency key;
every status change is published as a `PaymentStatusChanged` event.

Choices where the contract leaves room:
* checks, in order: unknown QR -> `invalid_qr`; blocked -> `contractor_blocked`;
  `qr_expired` -> `qr_expired`; payment currency differs from the driver's
  balance currency -> `invalid_qr` (that QR cannot pay in that currency);
  above `payment_limit` -> `limit_exceeded`; balance below the amount ->
  `insufficient_funds` (checked again when a manual payment is accepted);
* acceptance `reject`: answered `pending_acceptance`, declined
  `driver_rejected` after `SANDBOX_REJECT_DELAY_SECONDS` (0: declined at once);
* a repeated `payment_id` with another QR, amount, currency, partner or
  external id -> 409 `idempotency_conflict`.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog

from sandbox.clock import now, now_rfc3339
from sandbox.errors import PeerError
from sandbox.events import PaymentEventPublisher
from sandbox.peer_models.contractor_merch_payments import (
    CreatePayment,
    CreateRefund,
    PaymentAnswer,
    PaymentStatus,
    PaymentStatusChanged,
    RefundAnswer,
)
from sandbox.state import Driver, LedgerEntry, Payment, Refund, World

log = structlog.get_logger(__name__)

PENDING = PaymentStatus.PENDING_ACCEPTANCE
CONFIRMED = PaymentStatus.CONFIRMED
DECLINED = PaymentStatus.DECLINED
CANCELLED = PaymentStatus.CANCELLED


def payment_answer(payment: Payment) -> PaymentAnswer:
    return PaymentAnswer.model_validate(payment)


def _decline_reason(driver: Driver | None, request: CreatePayment) -> str | None:
    if driver is None:
        return "invalid_qr"
    if driver.blocked:
        return "contractor_blocked"
    if driver.qr_expired:
        return "qr_expired"
    if driver.currency != request.currency:
        return "invalid_qr"
    if driver.payment_limit is not None and request.amount > driver.payment_limit:
        return "limit_exceeded"
    if driver.balance < request.amount:
        return "insufficient_funds"
    return None


class MerchPayments:
    def __init__(
        self, world: World, publisher: PaymentEventPublisher, reject_delay_seconds: float
    ) -> None:
        self._world = world
        self._publisher = publisher
        self._reject_delay = reject_delay_seconds
        self._tasks: set[asyncio.Task[None]] = set()
        # Control (`POST /_sandbox/events/drop`): status changes happen but are not
        # announced, as when the service loses an event (reconciliation tests).
        self.drop_events = False

    def reset(self) -> None:
        """Forget scheduled driver answers (the world itself is reset by its owner)."""
        self.drop_events = False
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def find(self, payment_id: str) -> Payment:
        payment = self._world.payments.get(payment_id)
        if payment is None:
            raise PeerError(404, "payment_not_found", f"no payment {payment_id}")
        return payment

    async def create(self, request: CreatePayment, correlation_id: str) -> Payment:
        existing = self._world.payments.get(request.payment_id)
        if existing is not None:
            self._check_same_request(existing, request)
            return existing

        driver = self._world.driver_by_qr(request.qr_code)
        payment = Payment(
            payment_id=request.payment_id,
            qr_code=request.qr_code,
            amount=request.amount,
            currency=request.currency,
            partner=request.partner,
            external_id=request.external_id,
            merchant=request.merchant.model_dump() if request.merchant else None,
            driver=driver.key if driver else None,
            status=PENDING,
            decline_reason=None,
            created_at=now_rfc3339(),
        )
        self._world.remember_payment(payment)

        reason = _decline_reason(driver, request)
        if reason is not None or driver is None:
            await self._move(payment, DECLINED, correlation_id, reason)
        elif driver.acceptance == "auto":
            self._debit(driver, payment)
            await self._move(payment, CONFIRMED, correlation_id)
        elif driver.acceptance == "reject" and self._reject_delay == 0:
            await self._move(payment, DECLINED, correlation_id, "driver_rejected")
        else:
            await self._move(payment, PENDING, correlation_id)
            if driver.acceptance == "reject":
                self._schedule_rejection(payment.payment_id, correlation_id)
        return payment

    async def accept(self, payment_id: str, correlation_id: str) -> Payment:
        """The driver accepts in the app: debit (if the balance still allows) and confirm."""
        payment = self._pending(payment_id)
        driver = self._world.drivers.get(payment.driver) if payment.driver else None
        if driver is None:
            await self._move(payment, DECLINED, correlation_id, "invalid_qr")
        elif driver.balance < payment.amount:
            await self._move(payment, DECLINED, correlation_id, "insufficient_funds")
        else:
            self._debit(driver, payment)
            await self._move(payment, CONFIRMED, correlation_id)
        return payment

    async def reject(self, payment_id: str, correlation_id: str) -> Payment:
        payment = self._pending(payment_id)
        await self._move(payment, DECLINED, correlation_id, "driver_rejected")
        return payment

    async def cancel(self, payment_id: str, correlation_id: str) -> Payment:
        payment = self.find(payment_id)
        if payment.status == CANCELLED:
            return payment
        if payment.status == DECLINED:
            raise PeerError(409, "payment_not_cancellable", "declined: not cancellable")
        if payment.status == CONFIRMED:
            remaining = payment.amount - payment.refunded_total
            if remaining > 0:
                self._credit(payment, remaining, f"cancel:{payment.payment_id}")
        await self._move(payment, CANCELLED, correlation_id)
        return payment

    def refund(self, payment_id: str, request: CreateRefund) -> RefundAnswer:
        payment = self.find(payment_id)
        done = self._world.refunds.get(request.refund_id)
        if done is not None:
            if done.payment_id != payment_id or done.amount != request.amount:
                raise PeerError(
                    409, "idempotency_conflict", "refund_id already used with another body"
                )
            return RefundAnswer.model_validate(done)
        if payment.status != CONFIRMED:
            raise PeerError(409, "payment_not_refundable", "only a confirmed payment is refundable")
        if request.amount > payment.amount - payment.refunded_total:
            raise PeerError(409, "refund_exceeds_payment", "refund exceeds what remains")
        self._credit(payment, request.amount, f"refund:{request.refund_id}")
        payment.refunded_total += request.amount
        refund = Refund(request.refund_id, payment_id, request.amount, payment.refunded_total)
        self._world.refunds[refund.refund_id] = refund
        log.info("refund_succeeded", payment_id=payment_id, refund_id=refund.refund_id)
        return RefundAnswer.model_validate(refund)

    @staticmethod
    def _check_same_request(payment: Payment, request: CreatePayment) -> None:
        first = (payment.qr_code, payment.amount, payment.currency, payment.partner)
        again = (request.qr_code, request.amount, request.currency, request.partner)
        if first != again or payment.external_id != request.external_id:
            raise PeerError(
                409, "idempotency_conflict", "payment_id already used with another body"
            )

    def _pending(self, payment_id: str) -> Payment:
        payment = self.find(payment_id)
        if payment.status != PENDING:
            raise PeerError(
                409, "payment_not_pending", f"payment is {payment.status.value}, not pending"
            )
        return payment

    def _debit(self, driver: Driver, payment: Payment) -> None:
        driver.post(
            LedgerEntry(
                "debit",
                payment.amount,
                f"payment:{payment.payment_id}",
                payment.payment_id,
                now_rfc3339(),
            ),
            keep=self._world.history_limit,
        )

    def _credit(self, payment: Payment, amount: int, key: str) -> None:
        driver = self._world.drivers.get(payment.driver) if payment.driver else None
        if driver is not None:
            driver.post(
                LedgerEntry("credit", amount, key, payment.payment_id, now_rfc3339()),
                keep=self._world.history_limit,
            )

    async def _move(
        self,
        payment: Payment,
        status: PaymentStatus,
        correlation_id: str,
        reason: str | None = None,
    ) -> None:
        payment.status = status
        payment.decline_reason = reason if status == DECLINED else None
        payment.history.append(status.value)
        log.info(
            "payment_status_changed",
            payment_id=payment.payment_id,
            status=status.value,
            decline_reason=payment.decline_reason,
        )
        event = PaymentStatusChanged(
            event_id=str(uuid.uuid4()),
            payment_id=payment.payment_id,
            status=status,
            decline_reason=payment.decline_reason,
            occurred_at=now(),
        )
        if self.drop_events:
            log.info("payment_event_dropped", payment_id=payment.payment_id)
            return
        await self._publisher.publish(event, correlation_id)

    def _schedule_rejection(self, payment_id: str, correlation_id: str) -> None:
        async def _driver_rejects() -> None:
            await asyncio.sleep(self._reject_delay)
            payment = self._world.payments.get(payment_id)
            if payment is not None and payment.status == PENDING:
                await self._move(payment, DECLINED, correlation_id, "driver_rejected")

        task = asyncio.create_task(_driver_rejects())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
