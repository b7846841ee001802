-- Partner payments: the mapping (partner, transaction_id) <-> payment_id with its state,
-- and refunds. The rules the code follows are also enforced here: one payment per
-- partner transaction, one refund per partner refund id, states that only move
-- forward, refunds that never exceed the payment.
--
-- The QR payload is never stored: `request_hash` (sha256 of the request) is what a
-- repeated authorization is compared against.

CREATE TABLE IF NOT EXISTS payments (
    payment_id text PRIMARY KEY,
    partner text NOT NULL,
    transaction_id text NOT NULL,
    status text NOT NULL,
    decline_reason text,
    -- NULL only for a cancel recorded before its authorization arrived.
    request_hash bytea,
    amount bigint,
    currency text,
    merchant_id text,
    merchant_name text,
    merchant_mcc text,
    terminal_id text,
    refunded_total bigint NOT NULL DEFAULT 0,
    -- Refunds sent to the payments service and not yet confirmed.
    refunds_pending bigint NOT NULL DEFAULT 0,
    -- The last status the payments service told us; NULL = not known yet;
    -- 'not_created' = it surely never had the payment.
    peer_status text,
    -- We cancelled or declined it here and still have to cancel it there.
    cancel_owed boolean NOT NULL DEFAULT false,
    -- Reply addresses of requests waiting for the final state:
    -- [{"reply_to": ..., "correlation_id": ...}]
    waiters jsonb NOT NULL DEFAULT '[]'::jsonb,
    acceptance_deadline timestamptz,
    -- When the status poll should look at the payment next; NULL = nothing to do.
    next_poll_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finalized_at timestamptz,
    CONSTRAINT payments_partner_transaction_key UNIQUE (partner, transaction_id),
    CONSTRAINT payments_status_known
        CHECK (status IN ('pending', 'approved', 'declined', 'cancelled')),
    CONSTRAINT payments_decline_reason_known CHECK (
        decline_reason IS NULL OR decline_reason IN (
            'invalid_qr', 'qr_expired', 'insufficient_funds', 'driver_rejected',
            'acceptance_timeout', 'limit_exceeded', 'contractor_blocked', 'payments_unavailable'
        )
    ),
    CONSTRAINT payments_reason_iff_declined
        CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
    CONSTRAINT payments_amount_positive CHECK (amount IS NULL OR amount > 0),
    CONSTRAINT payments_request_complete CHECK (
        (request_hash IS NULL) = (amount IS NULL) AND (amount IS NULL) = (currency IS NULL)
    ),
    CONSTRAINT payments_unauthorized_only_cancelled
        CHECK (request_hash IS NOT NULL OR status = 'cancelled'),
    CONSTRAINT payments_refunds_within_amount CHECK (
        refunded_total >= 0 AND refunds_pending >= 0
        AND refunded_total + refunds_pending <= coalesce(amount, 0)
    ),
    CONSTRAINT payments_refunds_only_when_approved CHECK (
        refunded_total + refunds_pending = 0 OR status IN ('approved', 'cancelled')
    ),
    CONSTRAINT payments_peer_status_known CHECK (
        peer_status IS NULL OR peer_status IN (
            'not_created', 'pending_acceptance', 'confirmed', 'declined', 'cancelled'
        )
    ),
    CONSTRAINT payments_waiters_array CHECK (jsonb_typeof(waiters) = 'array')
);

CREATE INDEX IF NOT EXISTS payments_due_poll
    ON payments (next_poll_at) WHERE next_poll_at IS NOT NULL;

-- States only move forward: pending -> approved | declined | cancelled, approved ->
-- cancelled. Identity columns and a decline reason never change.
CREATE OR REPLACE FUNCTION payments_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.payment_id <> OLD.payment_id
        OR NEW.partner <> OLD.partner
        OR NEW.transaction_id <> OLD.transaction_id THEN
        RAISE EXCEPTION 'payment identity cannot change' USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('approved', 'declined', 'cancelled'))
        OR (OLD.status = 'approved' AND NEW.status = 'cancelled')
    ) THEN
        RAISE EXCEPTION 'payment cannot move from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.status = 'declined' AND NEW.decline_reason IS DISTINCT FROM OLD.decline_reason THEN
        RAISE EXCEPTION 'a decline reason cannot change' USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.request_hash IS NOT NULL AND NEW.request_hash IS DISTINCT FROM OLD.request_hash THEN
        RAISE EXCEPTION 'an authorization cannot change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER payments_forward_only
    BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_forward_only();

CREATE TABLE IF NOT EXISTS refunds (
    partner text NOT NULL,
    refund_id text NOT NULL,
    payment_id text NOT NULL REFERENCES payments (payment_id),
    transaction_id text NOT NULL,
    amount bigint NOT NULL,
    status text NOT NULL,
    failure_code text,
    next_poll_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (partner, refund_id),
    CONSTRAINT refunds_amount_positive CHECK (amount > 0),
    CONSTRAINT refunds_status_known CHECK (status IN ('pending', 'succeeded', 'failed')),
    CONSTRAINT refunds_failure_iff_failed CHECK ((status = 'failed') = (failure_code IS NOT NULL))
);

CREATE INDEX IF NOT EXISTS refunds_payment ON refunds (payment_id);
CREATE INDEX IF NOT EXISTS refunds_due_poll
    ON refunds (next_poll_at) WHERE next_poll_at IS NOT NULL;

CREATE OR REPLACE FUNCTION refunds_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> OLD.status AND OLD.status <> 'pending' THEN
        RAISE EXCEPTION 'refund cannot move from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.amount <> OLD.amount OR NEW.payment_id <> OLD.payment_id THEN
        RAISE EXCEPTION 'a refund cannot change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER refunds_forward_only
    BEFORE UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION refunds_forward_only();
