"""The SQL of `PostgresPaymentRepository`: constant statements over the `payments`
and `refunds` tables (migrations/0002_payments.sql)."""

from __future__ import annotations

_COLUMNS = (
    "payment_id",
    "partner",
    "transaction_id",
    "status",
    "decline_reason",
    "request_hash",
    "amount",
    "currency",
    "refunded_total",
    "refunds_pending",
    "peer_status",
    "cancel_owed",
    "created_at",
    "acceptance_deadline",
)
COLUMNS = ", ".join(_COLUMNS)
P_COLUMNS = ", ".join(f"p.{name}" for name in _COLUMNS)
REFUND_COLUMNS = "partner, refund_id, payment_id, transaction_id, amount, status, failure_code"

FIND_BY_TRANSACTION = f"SELECT {COLUMNS} FROM payments WHERE partner = $1 AND transaction_id = $2"  # noqa: S608
FIND_BY_ID = f"SELECT {COLUMNS} FROM payments WHERE payment_id = $1"  # noqa: S608
FIND_REFUND = f"SELECT {REFUND_COLUMNS} FROM refunds WHERE partner = $1 AND refund_id = $2"  # noqa: S608

INSERT_AUTHORIZATION = f"""
INSERT INTO payments (
    payment_id, partner, transaction_id, status, request_hash, amount, currency,
    merchant_id, merchant_name, merchant_mcc, terminal_id, waiters,
    acceptance_deadline, next_poll_at
) VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)
ON CONFLICT DO NOTHING
RETURNING {COLUMNS}
"""  # noqa: S608 (constant column lists)

ATTACH_AUTHORIZATION = f"""
UPDATE payments SET request_hash = $2, amount = $3, currency = $4, merchant_id = $5,
    merchant_name = $6, merchant_mcc = $7, terminal_id = $8, updated_at = now()
WHERE payment_id = $1 AND request_hash IS NULL
RETURNING {COLUMNS}
"""  # noqa: S608 (constant column lists)

RECORD_CANCEL_FIRST = f"""
INSERT INTO payments (payment_id, partner, transaction_id, status, finalized_at)
VALUES ($1, $2, $3, 'cancelled', now())
ON CONFLICT DO NOTHING
RETURNING {COLUMNS}
"""  # noqa: S608 (constant column lists)

INSERT_REFUND = f"""
INSERT INTO refunds (partner, refund_id, payment_id, transaction_id, amount, status, next_poll_at)
VALUES ($1, $2, $3, $4, $5, 'pending', $6)
ON CONFLICT DO NOTHING
RETURNING {REFUND_COLUMNS}
"""  # noqa: S608 (constant column lists)

AWAIT_ACCEPTANCE = """
UPDATE payments SET peer_status = 'pending_acceptance', next_poll_at = $2, updated_at = now()
WHERE payment_id = $1 AND status = 'pending'
"""

OWE_CANCEL = """
UPDATE payments SET cancel_owed = true, next_poll_at = $2, updated_at = now()
WHERE payment_id = $1 AND status IN ('declined', 'cancelled')
"""

ADD_WAITER = """
UPDATE payments
SET waiters = CASE WHEN waiters @> $2::jsonb THEN waiters ELSE waiters || $2::jsonb END
WHERE payment_id = $1 AND status = 'pending'
"""

FINALIZE = f"""
WITH before AS (
    SELECT payment_id, waiters FROM payments
    WHERE payment_id = $1 AND status = ANY($4::text[])
    FOR UPDATE
)
UPDATE payments p
SET status = $2, decline_reason = $3, peer_status = coalesce($5, p.peer_status),
    cancel_owed = $6, next_poll_at = $7, waiters = '[]'::jsonb,
    updated_at = now(), finalized_at = now()
FROM before
WHERE p.payment_id = before.payment_id AND p.status = ANY($4::text[])
RETURNING {P_COLUMNS}, before.waiters AS old_waiters
"""  # noqa: S608 (constant column lists)

CLAIM_DUE = f"""
UPDATE payments p SET next_poll_at = $2
FROM (
    SELECT payment_id FROM payments
    WHERE next_poll_at <= $3
    ORDER BY next_poll_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
) due
WHERE p.payment_id = due.payment_id
RETURNING {P_COLUMNS}
"""  # noqa: S608 (constant column lists)

RESERVE_REFUND_PAYMENT = """
UPDATE payments SET refunds_pending = refunds_pending + $2, updated_at = now()
WHERE payment_id = $1 AND status = 'approved'
    AND refunded_total + refunds_pending + $2 <= amount
RETURNING payment_id
"""

COMPLETE_REFUND = """
WITH r AS (
    UPDATE refunds SET status = 'succeeded', next_poll_at = NULL, completed_at = now(),
        updated_at = now()
    WHERE partner = $1 AND refund_id = $2 AND status = 'pending'
    RETURNING payment_id, amount
)
UPDATE payments p
SET refunds_pending = p.refunds_pending - r.amount,
    refunded_total = p.refunded_total + r.amount, updated_at = now()
FROM r WHERE p.payment_id = r.payment_id
RETURNING p.refunded_total
"""

FAIL_REFUND = """
WITH r AS (
    UPDATE refunds SET status = 'failed', failure_code = $3, next_poll_at = NULL,
        completed_at = now(), updated_at = now()
    WHERE partner = $1 AND refund_id = $2 AND status = 'pending'
    RETURNING payment_id, amount
)
UPDATE payments p SET refunds_pending = p.refunds_pending - r.amount, updated_at = now()
FROM r WHERE p.payment_id = r.payment_id
"""

CLAIM_DUE_REFUNDS = f"""
UPDATE refunds r SET next_poll_at = $2
FROM (
    SELECT partner, refund_id FROM refunds
    WHERE next_poll_at <= $3 AND status = 'pending'
    ORDER BY next_poll_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
) due
WHERE r.partner = due.partner AND r.refund_id = due.refund_id
RETURNING {", ".join(f"r.{c.strip()}" for c in REFUND_COLUMNS.split(","))}
"""  # noqa: S608 (constant column lists)
