"""What the payments use cases need from the outside world, as small interfaces.

Adapters implement them (`repository.PostgresPaymentRepository`,
`processors.adapters.payments_service.HttpPaymentsService`, the Kafka replier);
unit tests pass fakes.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from processors.payments.domain import Payment, PeerStatus, RefundStatus
from schemas.envelope import Reply
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentState,
    MerchRefund,
)
from schemas.payments import DeclineReason, Merchant, PaymentStatus

# The payments service (contractor-merch-payments). Every method raises only
# `processors.peer_errors.PeerError`s.


class PaymentsService(Protocol):
    async def create(self, request: CreateMerchPayment) -> MerchPaymentState: ...

    async def get(self, payment_id: str) -> MerchPaymentState: ...

    async def cancel(self, payment_id: str) -> MerchPaymentState: ...

    async def refund(self, payment_id: str, request: CreateMerchRefund) -> MerchRefund: ...


# Replies to requests that wait (the ingress instance holding the HTTP call)


@dataclass(frozen=True)
class ReplyAddress:
    reply_to: str
    correlation_id: str


class Replier(Protocol):
    async def reply(self, address: ReplyAddress, reply: Reply) -> None: ...


# State


@dataclass(frozen=True)
class NewAuthorization:
    payment_id: str
    partner: str
    transaction_id: str
    request_hash: bytes
    amount: int
    currency: str
    merchant: Merchant
    terminal_id: str | None
    acceptance_deadline: datetime
    # When the poller may first look at it: after any create of ours has ended.
    first_poll_at: datetime
    waiter: ReplyAddress | None


@dataclass(frozen=True)
class FinalMove:
    """A move to a final status, made only from `from_statuses`, and what the row
    learns with it (the service's status when given, a cancel it owes, its next poll)."""

    status: PaymentStatus
    from_statuses: frozenset[PaymentStatus]
    decline_reason: DeclineReason | None = None
    peer_status: PeerStatus | None = None
    cancel_owed: bool = False
    poll_at: datetime | None = None


@dataclass(frozen=True)
class Finalized:
    """A payment that has just moved to a final state, and who waits for it."""

    payment: Payment
    waiters: list[ReplyAddress]


@dataclass(frozen=True)
class Refund:
    partner: str
    refund_id: str
    payment_id: str
    transaction_id: str
    amount: int
    status: RefundStatus
    failure_code: str | None


class PaymentStore(Protocol):
    """The payments state within one unit of work: a short transaction on one
    database connection, committed before any peer call (`PaymentRepository`).

    Every state change is conditional on the state it starts from, so two
    workers cannot both make it, and a late or repeated write changes nothing.
    """

    async def insert_authorization(self, new: NewAuthorization) -> Payment | None:
        """The new pending payment, or None when (partner, transaction_id) exists."""

    async def find(self, partner: str, transaction_id: str) -> Payment | None: ...

    async def find_by_id(self, payment_id: str) -> Payment | None: ...

    async def attach_authorization(self, payment_id: str, new: NewAuthorization) -> Payment | None:
        """Fill in the authorization of a cancel recorded before it (status stays cancelled)."""

    async def add_waiter(self, payment_id: str, waiter: ReplyAddress) -> None: ...

    async def await_acceptance(self, payment_id: str, poll_at: datetime) -> None:
        """A pending payment the service holds for the driver's acceptance."""

    async def reschedule(self, payment_id: str, poll_at: datetime | None) -> None: ...

    async def finalize(self, payment_id: str, move: FinalMove) -> Finalized | None:
        """Move to `move.status` if now in one of `move.from_statuses`; None when it was not.

        Takes the waiting reply addresses off the row and returns them.
        """

    async def record_cancel_first(
        self, payment_id: str, partner: str, transaction_id: str
    ) -> Payment | None:
        """Record a cancel whose authorization has not arrived; None when the row exists."""

    async def settle_cancel(self, payment_id: str, peer_status: PeerStatus) -> None:
        """The payments service knows of our cancel (or never had the payment)."""

    async def owe_cancel(self, payment_id: str, poll_at: datetime) -> None:
        """A payment final on our side is live in the service: cancel it there."""

    async def claim_due(self, limit: int, lease_until: datetime) -> list[Payment]:
        """Payments whose poll is due, leased to this caller until `lease_until`."""

    # Refunds

    async def find_refund(self, partner: str, refund_id: str) -> Refund | None: ...

    async def reserve_refund(
        self, payment: Payment, refund_id: str, amount: int, poll_at: datetime
    ) -> Refund | None:
        """Insert a pending refund and hold its amount on the payment (one transaction).

        None when the refund id exists or the payment cannot take it any more.
        """

    async def complete_refund(self, partner: str, refund_id: str) -> int:
        """Mark it succeeded; returns the payment's refunded total."""

    async def fail_refund(self, partner: str, refund_id: str, code: str) -> None: ...

    async def reschedule_refund(self, partner: str, refund_id: str, poll_at: datetime) -> None: ...

    async def claim_due_refunds(self, limit: int, lease_until: datetime) -> list[Refund]: ...


class PaymentRepository(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[PaymentStore]:
        """A unit of work: one transaction, committed when the block ends.

        Keep it short and never call a peer inside it: a connection held while
        a peer answers turns the peer's latency into pool exhaustion.
        """
        ...


@dataclass(frozen=True)
class PaymentPorts:
    repository: PaymentRepository
    payments_service: PaymentsService
    replier: Replier
