"""Reads of payments state from the declared read model (the processors own the writes).

The ingress reads only `payment_status_view` and `refund_status_view`
(migrations/0005_payment_status_view.sql), never the processors' tables. Used for
GET status and for the answer after the hold timeout.
"""

from __future__ import annotations

from ingress.database import Database
from schemas.payments import DeclineReason, PaymentResult, PaymentStatus, RefundResult

_PAYMENT = """
SELECT payment_id, status, decline_reason, amount, currency, refunded_total
FROM payment_status_view WHERE partner = $1 AND transaction_id = $2
"""

_REFUND = """
SELECT payment_id, transaction_id, amount, status, refunded_total
FROM refund_status_view WHERE partner = $1 AND refund_id = $2
"""


async def read_payment(
    database: Database, partner: str, transaction_id: str
) -> PaymentResult | None:
    async with database.connection() as connection:
        row = await connection.fetchrow(_PAYMENT, partner, transaction_id)
    if row is None:
        return None
    reason = row["decline_reason"]
    return PaymentResult(
        partner=partner,
        transaction_id=transaction_id,
        payment_id=row["payment_id"],
        status=PaymentStatus(row["status"]),
        decline_reason=DeclineReason(reason) if reason is not None else None,
        amount=row["amount"],
        currency=row["currency"],
        refunded_total=row["refunded_total"],
    )


async def read_succeeded_refund(
    database: Database, partner: str, refund_id: str
) -> RefundResult | None:
    async with database.connection() as connection:
        row = await connection.fetchrow(_REFUND, partner, refund_id)
    if row is None or row["status"] != "succeeded":
        return None
    return RefundResult(
        partner=partner,
        transaction_id=row["transaction_id"],
        payment_id=row["payment_id"],
        refund_id=refund_id,
        amount=row["amount"],
        refunded_total=row["refunded_total"],
    )
