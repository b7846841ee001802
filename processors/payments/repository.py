"""Payments state in PostgreSQL (asyncpg): `PostgresPaymentRepository`.

A unit of work is one short transaction on a pooled connection, released when
it commits; the use cases never call a peer inside one. State changes are
conditional UPDATEs, so of two workers racing only one moves a payment; the
schema (migrations/0002_payments.sql) enforces the same rules again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg

from processors.payments import sql
from processors.payments.domain import Payment, PeerStatus, RefundStatus
from processors.payments.ports import Finalized, FinalMove, NewAuthorization, Refund, ReplyAddress
from schemas.payments import DeclineReason, PaymentStatus


def _payment(row: Any) -> Payment:
    reason = row["decline_reason"]
    return Payment(
        payment_id=row["payment_id"],
        partner=row["partner"],
        transaction_id=row["transaction_id"],
        status=PaymentStatus(row["status"]),
        decline_reason=DeclineReason(reason) if reason is not None else None,
        request_hash=row["request_hash"],
        amount=row["amount"],
        currency=row["currency"],
        refunded_total=row["refunded_total"],
        refunds_pending=row["refunds_pending"],
        peer_status=PeerStatus(peer) if (peer := row["peer_status"]) is not None else None,
        cancel_owed=row["cancel_owed"],
        created_at=row["created_at"],
        acceptance_deadline=row["acceptance_deadline"],
    )


def _refund(row: Any) -> Refund:
    return Refund(
        partner=row["partner"],
        refund_id=row["refund_id"],
        payment_id=row["payment_id"],
        transaction_id=row["transaction_id"],
        amount=row["amount"],
        status=RefundStatus(row["status"]),
        failure_code=row["failure_code"],
    )


def _waiters_json(waiter: ReplyAddress | None) -> str:
    if waiter is None:
        return "[]"
    return json.dumps([{"reply_to": waiter.reply_to, "correlation_id": waiter.correlation_id}])


def _parse_waiters(raw: Any) -> list[ReplyAddress]:
    items = json.loads(raw) if isinstance(raw, str) else raw
    return [
        ReplyAddress(reply_to=item["reply_to"], correlation_id=item["correlation_id"])
        for item in items or []
        if isinstance(item, dict) and "reply_to" in item and "correlation_id" in item
    ]


def _authorization_values(new: NewAuthorization) -> tuple[object, ...]:
    """What an authorization records, in the order both SQL statements bind it
    (request_hash, amount, currency, merchant id, name and mcc, terminal_id)."""
    merchant = new.merchant
    return (
        new.request_hash,
        new.amount,
        new.currency,
        merchant.id,
        merchant.name,
        merchant.mcc,
        new.terminal_id,
    )


class _RefundNotReserved(Exception):
    """Rolls back a refund insert whose amount the payment could not take."""


class PostgresPaymentStore:
    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def insert_authorization(self, new: NewAuthorization) -> Payment | None:
        row = await self._conn.fetchrow(
            sql.INSERT_AUTHORIZATION,
            new.payment_id,
            new.partner,
            new.transaction_id,
            *_authorization_values(new),
            _waiters_json(new.waiter),
            new.acceptance_deadline,
            new.first_poll_at,
        )
        return _payment(row) if row is not None else None

    async def find(self, partner: str, transaction_id: str) -> Payment | None:
        row = await self._conn.fetchrow(sql.FIND_BY_TRANSACTION, partner, transaction_id)
        return _payment(row) if row is not None else None

    async def find_by_id(self, payment_id: str) -> Payment | None:
        row = await self._conn.fetchrow(sql.FIND_BY_ID, payment_id)
        return _payment(row) if row is not None else None

    async def attach_authorization(self, payment_id: str, new: NewAuthorization) -> Payment | None:
        values = _authorization_values(new)
        row = await self._conn.fetchrow(sql.ATTACH_AUTHORIZATION, payment_id, *values)
        return _payment(row) if row is not None else None

    async def add_waiter(self, payment_id: str, waiter: ReplyAddress) -> None:
        await self._conn.execute(sql.ADD_WAITER, payment_id, _waiters_json(waiter))

    async def await_acceptance(self, payment_id: str, poll_at: datetime) -> None:
        await self._conn.execute(sql.AWAIT_ACCEPTANCE, payment_id, poll_at)

    async def reschedule(self, payment_id: str, poll_at: datetime | None) -> None:
        await self._conn.execute(
            "UPDATE payments SET next_poll_at = $2 WHERE payment_id = $1",
            payment_id,
            poll_at,
        )

    async def finalize(self, payment_id: str, move: FinalMove) -> Finalized | None:
        row = await self._conn.fetchrow(
            sql.FINALIZE,
            payment_id,
            move.status.value,
            move.decline_reason.value if move.decline_reason is not None else None,
            sorted(s.value for s in move.from_statuses),
            move.peer_status.value if move.peer_status is not None else None,
            move.cancel_owed,
            move.poll_at,
        )
        if row is None:
            return None
        return Finalized(_payment(row), _parse_waiters(row["old_waiters"]))

    async def record_cancel_first(
        self, payment_id: str, partner: str, transaction_id: str
    ) -> Payment | None:
        row = await self._conn.fetchrow(
            sql.RECORD_CANCEL_FIRST, payment_id, partner, transaction_id
        )
        return _payment(row) if row is not None else None

    async def settle_cancel(self, payment_id: str, peer_status: PeerStatus) -> None:
        await self._conn.execute(
            "UPDATE payments SET cancel_owed = false, peer_status = $2, next_poll_at = NULL,"
            " updated_at = now() WHERE payment_id = $1 AND status <> 'pending'",
            payment_id,
            peer_status.value,
        )

    async def owe_cancel(self, payment_id: str, poll_at: datetime) -> None:
        await self._conn.execute(sql.OWE_CANCEL, payment_id, poll_at)

    async def claim_due(self, limit: int, lease_until: datetime) -> list[Payment]:
        return [_payment(row) for row in await self._claim(sql.CLAIM_DUE, limit, lease_until)]

    async def find_refund(self, partner: str, refund_id: str) -> Refund | None:
        row = await self._conn.fetchrow(sql.FIND_REFUND, partner, refund_id)
        return _refund(row) if row is not None else None

    async def reserve_refund(
        self, payment: Payment, refund_id: str, amount: int, poll_at: datetime
    ) -> Refund | None:
        try:
            async with self._conn.transaction():
                row = await self._conn.fetchrow(
                    sql.INSERT_REFUND,
                    payment.partner,
                    refund_id,
                    payment.payment_id,
                    payment.transaction_id,
                    amount,
                    poll_at,
                )
                if row is None:
                    return None
                reserved = await self._conn.fetchval(
                    sql.RESERVE_REFUND_PAYMENT, payment.payment_id, amount
                )
                if reserved is None:
                    raise _RefundNotReserved
                return _refund(row)
        except _RefundNotReserved:
            return None

    async def complete_refund(self, partner: str, refund_id: str) -> int:
        total = await self._conn.fetchval(sql.COMPLETE_REFUND, partner, refund_id)
        if total is None:  # completed by another worker already
            total = await self._conn.fetchval(
                "SELECT p.refunded_total FROM payments p JOIN refunds r USING (payment_id)"
                " WHERE r.partner = $1 AND r.refund_id = $2",
                partner,
                refund_id,
            )
        return int(total or 0)

    async def fail_refund(self, partner: str, refund_id: str, code: str) -> None:
        await self._conn.execute(sql.FAIL_REFUND, partner, refund_id, code)

    async def reschedule_refund(self, partner: str, refund_id: str, poll_at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refunds SET next_poll_at = $3 WHERE partner = $1 AND refund_id = $2"
            " AND status = 'pending'",
            partner,
            refund_id,
            poll_at,
        )

    async def claim_due_refunds(self, limit: int, lease_until: datetime) -> list[Refund]:
        rows = await self._claim(sql.CLAIM_DUE_REFUNDS, limit, lease_until)
        return [_refund(row) for row in rows]

    async def _claim(self, query: str, limit: int, lease_until: datetime) -> list[asyncpg.Record]:
        """Up to `limit` due rows, leased until `lease_until` (due: by now in its zone)."""
        now = datetime.now(lease_until.tzinfo)
        rows: list[asyncpg.Record] = await self._conn.fetch(query, limit, lease_until, now)
        return rows


class PostgresPaymentRepository:
    """`acquire_timeout_s` bounds the wait for a pooled connection: an exhausted pool
    ends as a TimeoutError (the agent answers 503 `unavailable`), never a hang."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout_s: float = 1.0) -> None:
        self._pool = pool
        self._acquire_timeout_s = acquire_timeout_s

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresPaymentStore]:
        acquired = self._pool.acquire(timeout=self._acquire_timeout_s)
        async with acquired as connection, connection.transaction():
            yield PostgresPaymentStore(connection)
