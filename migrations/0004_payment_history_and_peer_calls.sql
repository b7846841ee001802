-- Operator tools (python -m ops): what happened to a payment, which peer calls were
-- made for it, and which dead letters were re-driven. None of these tables holds a
-- request or response body, a QR code or an identity document number.

-- One line per change of a payment's state, in order, written by a trigger so that
-- every writer (processors, `ops reconcile --fix`, a hand-typed UPDATE) is recorded.
-- `cause` is the session setting `taxi.change_cause` of the writer (the processors set
-- it per unit of work: authorize, cancel, refund, status_event, poll; ops sets
-- reconcile), 'unknown' when unset.
CREATE TABLE IF NOT EXISTS payment_history (
    id bigserial PRIMARY KEY,
    payment_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    cause text NOT NULL,
    status text NOT NULL,
    decline_reason text,
    peer_status text,
    refunded_total bigint NOT NULL,
    cancel_owed boolean NOT NULL,
    -- What changed: {"status": ["pending", "approved"], ...} (empty on creation).
    changes jsonb NOT NULL
);

CREATE INDEX IF NOT EXISTS payment_history_payment ON payment_history (payment_id, id);

CREATE OR REPLACE FUNCTION payments_record_history() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta jsonb := '{}'::jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            delta := delta || jsonb_build_object('status', jsonb_build_array(OLD.status, NEW.status));
        END IF;
        IF NEW.decline_reason IS DISTINCT FROM OLD.decline_reason THEN
            delta := delta || jsonb_build_object(
                'decline_reason', jsonb_build_array(OLD.decline_reason, NEW.decline_reason));
        END IF;
        IF NEW.peer_status IS DISTINCT FROM OLD.peer_status THEN
            delta := delta || jsonb_build_object(
                'peer_status', jsonb_build_array(OLD.peer_status, NEW.peer_status));
        END IF;
        IF NEW.refunded_total IS DISTINCT FROM OLD.refunded_total THEN
            delta := delta || jsonb_build_object(
                'refunded_total', jsonb_build_array(OLD.refunded_total, NEW.refunded_total));
        END IF;
        IF NEW.cancel_owed IS DISTINCT FROM OLD.cancel_owed THEN
            delta := delta || jsonb_build_object(
                'cancel_owed', jsonb_build_array(OLD.cancel_owed, NEW.cancel_owed));
        END IF;
        IF NEW.request_hash IS DISTINCT FROM OLD.request_hash THEN
            delta := delta || jsonb_build_object('authorization', 'attached');
        END IF;
        -- Polls, leases and waiters move often and are not the payment's story.
        IF delta = '{}'::jsonb THEN
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO payment_history (
        payment_id, cause, status, decline_reason, peer_status, refunded_total,
        cancel_owed, changes
    ) VALUES (
        NEW.payment_id,
        coalesce(nullif(current_setting('taxi.change_cause', true), ''), 'unknown'),
        NEW.status, NEW.decline_reason, NEW.peer_status, NEW.refunded_total,
        NEW.cancel_owed, delta
    );
    RETURN NULL;
END;
$$;

CREATE OR REPLACE TRIGGER payments_record_history
    AFTER INSERT OR UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_record_history();

-- Every call the processors made to a peer, keyed by what it was made for (a payment
-- id, an order id or a message key): method, path, outcome and duration only.
-- Written in batches by the workers (observability/peer_journal.py), which delete rows
-- older than 7 days.
CREATE TABLE IF NOT EXISTS peer_calls (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    subject text,
    correlation_id text,
    peer text NOT NULL,
    operation text NOT NULL,
    method text,
    path text,
    outcome text NOT NULL,
    duration_ms double precision NOT NULL
);

CREATE INDEX IF NOT EXISTS peer_calls_subject ON peer_calls (subject, id);
CREATE INDEX IF NOT EXISTS peer_calls_at ON peer_calls (at);

-- Audit of `ops dlq redrive`: one line per dead letter re-produced to its topic.
CREATE TABLE IF NOT EXISTS dead_letter_redrives (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    dead_letter_partition integer NOT NULL,
    dead_letter_offset bigint NOT NULL,
    correlation_id text,
    reason text,
    target_topic text NOT NULL,
    target_partition integer,
    target_offset bigint,
    redrive_count integer NOT NULL,
    forced boolean NOT NULL,
    operator text NOT NULL
);

CREATE INDEX IF NOT EXISTS dead_letter_redrives_offset
    ON dead_letter_redrives (dead_letter_partition, dead_letter_offset);
