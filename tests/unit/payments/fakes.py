"""In-memory doubles of the payments ports, with the same rules as the real adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from processors.payments.domain import Payment, PeerStatus, RefundStatus
from processors.payments.ports import (
    Finalized,
    FinalMove,
    NewAuthorization,
    PaymentPorts,
    Refund,
    ReplyAddress,
)
from processors.payments.timing import Timing
from processors.payments.use_cases import PaymentUseCases, build_payment_use_cases
from processors.peer_errors import PeerError, PeerNotFound, PeerRejected, PeerUnavailable
from schemas.envelope import Reply
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentState,
    MerchPaymentStatus,
    MerchRefund,
)
from schemas.payments import PaymentStatus

PEER = "contractor-merch-payments"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class _Row:
    payment: Payment
    waiters: list[ReplyAddress] = field(default_factory=list)
    next_poll_at: datetime | None = None


class FakePaymentStore:
    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.rows: dict[str, _Row] = {}
        self.refunds: dict[tuple[str, str], Refund] = {}
        self.refund_polls: dict[tuple[str, str], datetime | None] = {}

    def _by_tx(self, partner: str, transaction_id: str) -> _Row | None:
        for row in self.rows.values():
            if row.payment.partner == partner and row.payment.transaction_id == transaction_id:
                return row
        return None

    def _set(self, payment_id: str, **changes: object) -> Payment:
        row = self.rows[payment_id]
        row.payment = replace(row.payment, **changes)  # type: ignore[arg-type]
        return row.payment

    async def insert_authorization(self, new: NewAuthorization) -> Payment | None:
        if new.payment_id in self.rows or self._by_tx(new.partner, new.transaction_id):
            return None
        payment = Payment(
            payment_id=new.payment_id,
            partner=new.partner,
            transaction_id=new.transaction_id,
            status=PaymentStatus.PENDING,
            decline_reason=None,
            request_hash=new.request_hash,
            amount=new.amount,
            currency=new.currency,
            refunded_total=0,
            refunds_pending=0,
            peer_status=None,
            cancel_owed=False,
            created_at=self._clock(),
            acceptance_deadline=new.acceptance_deadline,
        )
        waiters = [new.waiter] if new.waiter else []
        self.rows[new.payment_id] = _Row(payment, waiters, new.first_poll_at)
        return payment

    async def find(self, partner: str, transaction_id: str) -> Payment | None:
        row = self._by_tx(partner, transaction_id)
        return row.payment if row else None

    async def find_by_id(self, payment_id: str) -> Payment | None:
        row = self.rows.get(payment_id)
        return row.payment if row else None

    async def attach_authorization(self, payment_id: str, new: NewAuthorization) -> Payment | None:
        if self.rows[payment_id].payment.request_hash is not None:
            return None
        return self._set(
            payment_id, request_hash=new.request_hash, amount=new.amount, currency=new.currency
        )

    async def add_waiter(self, payment_id: str, waiter: ReplyAddress) -> None:
        row = self.rows[payment_id]
        if row.payment.status is PaymentStatus.PENDING and waiter not in row.waiters:
            row.waiters.append(waiter)

    async def await_acceptance(self, payment_id: str, poll_at: datetime) -> None:
        if self.rows[payment_id].payment.status is PaymentStatus.PENDING:
            self._set(payment_id, peer_status=PeerStatus.PENDING_ACCEPTANCE)
            self.rows[payment_id].next_poll_at = poll_at

    async def reschedule(self, payment_id: str, poll_at: datetime | None) -> None:
        self.rows[payment_id].next_poll_at = poll_at

    async def finalize(self, payment_id: str, move: FinalMove) -> Finalized | None:
        row = self.rows.get(payment_id)
        if row is None or row.payment.status not in move.from_statuses:
            return None
        payment = self._set(
            payment_id,
            status=move.status,
            decline_reason=move.decline_reason,
            peer_status=move.peer_status or row.payment.peer_status,
            cancel_owed=move.cancel_owed,
        )
        waiters, row.waiters = row.waiters, []
        row.next_poll_at = move.poll_at
        return Finalized(payment, waiters)

    async def record_cancel_first(
        self, payment_id: str, partner: str, transaction_id: str
    ) -> Payment | None:
        if payment_id in self.rows or self._by_tx(partner, transaction_id):
            return None
        payment = Payment(
            payment_id,
            partner,
            transaction_id,
            PaymentStatus.CANCELLED,
            None,
            None,
            None,
            None,
            0,
            0,
            None,
            False,
            self._clock(),
            None,
        )
        self.rows[payment_id] = _Row(payment)
        return payment

    async def settle_cancel(self, payment_id: str, peer_status: PeerStatus) -> None:
        self._set(payment_id, cancel_owed=False, peer_status=peer_status)
        self.rows[payment_id].next_poll_at = None

    async def owe_cancel(self, payment_id: str, poll_at: datetime) -> None:
        if self.rows[payment_id].payment.status in (
            PaymentStatus.DECLINED,
            PaymentStatus.CANCELLED,
        ):
            self._set(payment_id, cancel_owed=True)
            self.rows[payment_id].next_poll_at = poll_at

    async def claim_due(self, limit: int, lease_until: datetime) -> list[Payment]:
        due = [
            row
            for row in self.rows.values()
            if row.next_poll_at is not None and row.next_poll_at <= self._clock()
        ][:limit]
        for row in due:
            row.next_poll_at = lease_until
        return [row.payment for row in due]

    async def find_refund(self, partner: str, refund_id: str) -> Refund | None:
        return self.refunds.get((partner, refund_id))

    async def reserve_refund(
        self, payment: Payment, refund_id: str, amount: int, poll_at: datetime
    ) -> Refund | None:
        key = (payment.partner, refund_id)
        current = self.rows[payment.payment_id].payment
        if key in self.refunds or current.status is not PaymentStatus.APPROVED:
            return None
        assert current.amount is not None
        if current.refunded_total + current.refunds_pending + amount > current.amount:
            return None
        refund = Refund(
            payment.partner,
            refund_id,
            payment.payment_id,
            payment.transaction_id,
            amount,
            RefundStatus.PENDING,
            None,
        )
        self.refunds[key] = refund
        self.refund_polls[key] = poll_at
        self._set(payment.payment_id, refunds_pending=current.refunds_pending + amount)
        return refund

    async def complete_refund(self, partner: str, refund_id: str) -> int:
        refund = self.refunds[(partner, refund_id)]
        payment = self.rows[refund.payment_id].payment
        if refund.status is RefundStatus.PENDING:
            self.refunds[(partner, refund_id)] = replace(refund, status=RefundStatus.SUCCEEDED)
            self.refund_polls[(partner, refund_id)] = None
            payment = self._set(
                refund.payment_id,
                refunds_pending=payment.refunds_pending - refund.amount,
                refunded_total=payment.refunded_total + refund.amount,
            )
        return payment.refunded_total

    async def fail_refund(self, partner: str, refund_id: str, code: str) -> None:
        refund = self.refunds[(partner, refund_id)]
        if refund.status is RefundStatus.PENDING:
            self.refunds[(partner, refund_id)] = replace(
                refund, status=RefundStatus.FAILED, failure_code=code
            )
            self.refund_polls[(partner, refund_id)] = None
            payment = self.rows[refund.payment_id].payment
            self._set(refund.payment_id, refunds_pending=payment.refunds_pending - refund.amount)

    async def reschedule_refund(self, partner: str, refund_id: str, poll_at: datetime) -> None:
        self.refund_polls[(partner, refund_id)] = poll_at

    async def claim_due_refunds(self, limit: int, lease_until: datetime) -> list[Refund]:
        due = [
            key
            for key, at in self.refund_polls.items()
            if at is not None
            and at <= self._clock()
            and self.refunds[key].status is RefundStatus.PENDING
        ][:limit]
        for key in due:
            self.refund_polls[key] = lease_until
        return [self.refunds[key] for key in due]


class FakePaymentRepository:
    def __init__(self, clock: FakeClock) -> None:
        self.store = FakePaymentStore(clock)
        self.open_transactions = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakePaymentStore]:
        self.open_transactions += 1
        try:
            yield self.store
        finally:
            self.open_transactions -= 1


@dataclass
class _PeerPayment:
    request: CreateMerchPayment
    status: MerchPaymentStatus
    decline_reason: str | None
    refunded_total: int = 0


class FakePaymentsService:
    """contractor-merch-payments in memory: `answer` decides what create does."""

    def __init__(
        self,
        answer: MerchPaymentStatus = MerchPaymentStatus.CONFIRMED,
        decline_reason: str | None = None,
    ) -> None:
        self.answer = answer
        self.decline_reason = decline_reason
        self.payments: dict[str, _PeerPayment] = {}
        self.calls: list[tuple[str, str]] = []
        # Raised by the next calls of an operation, in order.
        self.failures: dict[str, list[PeerError]] = {}
        # Create fails *after* recording the payment (the answer got lost).
        self.lose_create_answer = False
        # Checked on every call: make_world asserts no database transaction is open.
        self.on_call: Callable[[str], None] = lambda _operation: None

    def fail(self, operation: str, *errors: PeerError) -> None:
        self.failures.setdefault(operation, []).extend(errors)

    def _maybe_fail(self, operation: str) -> None:
        self.on_call(operation)
        pending = self.failures.get(operation)
        if pending:
            raise pending.pop(0)

    def _state(self, payment_id: str) -> MerchPaymentState:
        p = self.payments[payment_id]
        return MerchPaymentState(
            payment_id=payment_id,
            status=p.status,
            decline_reason=p.decline_reason,
            amount=p.request.amount,
            currency=p.request.currency,
            refunded_total=p.refunded_total,
        )

    def set_status(
        self, payment_id: str, status: MerchPaymentStatus, reason: str | None = None
    ) -> None:
        self.payments[payment_id].status = status
        self.payments[payment_id].decline_reason = reason

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    async def create(self, request: CreateMerchPayment) -> MerchPaymentState:
        self.calls.append(("create", request.payment_id))
        self._maybe_fail("create")
        if request.payment_id not in self.payments:
            reason = self.decline_reason if self.answer is MerchPaymentStatus.DECLINED else None
            self.payments[request.payment_id] = _PeerPayment(request, self.answer, reason)
        if self.lose_create_answer:
            raise PeerUnavailable(PEER, "create", "answer lost")
        return self._state(request.payment_id)

    async def get(self, payment_id: str) -> MerchPaymentState:
        self.calls.append(("get", payment_id))
        self._maybe_fail("get")
        if payment_id not in self.payments:
            raise PeerNotFound(PEER, "get", "payment_not_found")
        return self._state(payment_id)

    async def cancel(self, payment_id: str) -> MerchPaymentState:
        self.calls.append(("cancel", payment_id))
        self._maybe_fail("cancel")
        if payment_id not in self.payments:
            raise PeerNotFound(PEER, "cancel", "payment_not_found")
        p = self.payments[payment_id]
        if p.status is MerchPaymentStatus.DECLINED:
            raise PeerRejected(PEER, "cancel", "payment_not_cancellable")
        p.status = MerchPaymentStatus.CANCELLED
        return self._state(payment_id)

    async def refund(self, payment_id: str, request: CreateMerchRefund) -> MerchRefund:
        self.calls.append(("refund", payment_id))
        self._maybe_fail("refund")
        p = self.payments[payment_id]
        p.refunded_total += request.amount
        return MerchRefund(
            refund_id=request.refund_id,
            payment_id=payment_id,
            amount=request.amount,
            refunded_total=p.refunded_total,
        )


class RecordingReplier:
    def __init__(self) -> None:
        self.sent: list[tuple[ReplyAddress, Reply]] = []
        self.on_call: Callable[[str], None] = lambda _operation: None

    async def reply(self, address: ReplyAddress, reply: Reply) -> None:
        self.on_call("reply")
        self.sent.append((address, reply))

    def to(self, correlation_id: str) -> list[Reply]:
        return [reply for address, reply in self.sent if address.correlation_id == correlation_id]


TIMING = Timing(
    acceptance_timeout=timedelta(seconds=90),
    poll_interval=timedelta(seconds=2),
    create_grace=timedelta(seconds=7),
    lease=timedelta(seconds=8),
)


@dataclass
class World:
    clock: FakeClock
    repository: FakePaymentRepository
    peer: FakePaymentsService
    replier: RecordingReplier
    use_cases: PaymentUseCases

    def __post_init__(self) -> None:
        self.authorize = self.use_cases.authorize
        self.cancel = self.use_cases.cancel
        self.refund = self.use_cases.refund
        self.on_event = self.use_cases.on_event

    @property
    def store(self) -> FakePaymentStore:
        return self.repository.store

    async def poll_after(self, seconds: float) -> int:
        self.clock.advance(seconds)
        return await self.use_cases.poll_once()


def make_world(peer: FakePaymentsService | None = None) -> World:
    clock = FakeClock()
    repository = FakePaymentRepository(clock)
    peer = peer or FakePaymentsService()
    replier = RecordingReplier()

    def no_transaction_open(operation: str) -> None:
        # A unit of work ends before any peer call (a connection held while the peer
        # answers would turn its latency into pool exhaustion).
        assert repository.open_transactions == 0, f"a transaction is open during {operation}"

    peer.on_call = replier.on_call = no_transaction_open
    use_cases = build_payment_use_cases(PaymentPorts(repository, peer, replier), TIMING, clock)
    return World(clock, repository, peer, replier, use_cases)
