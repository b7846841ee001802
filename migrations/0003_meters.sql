-- Smart taximeters: the state of each order's meter ride, and what happened to it, so
-- operators can answer "what happened to order X". No column ever holds the driver's
-- identity document number.
CREATE TABLE IF NOT EXISTS meter_rides (
    order_id text PRIMARY KEY,
    park_id text NOT NULL,
    driver_profile_id text NOT NULL,
    state text NOT NULL
        CHECK (state IN ('starting', 'started', 'failed', 'finished', 'cancelled')),
    -- The start step that failed (state = failed) and the peer's error code.
    failed_step text,
    failure_reason text,
    meter_ride_id text,
    price numeric(14, 2),
    currency text,
    meter_price numeric(14, 2),
    meter_currency text,
    start_event_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS meter_rides_state_updated ON meter_rides (state, updated_at);

-- One line per thing that happened to an order's meter ride, in order.
CREATE TABLE IF NOT EXISTS meter_ride_history (
    id bigserial PRIMARY KEY,
    order_id text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    what text NOT NULL,
    detail jsonb
);

CREATE INDEX IF NOT EXISTS meter_ride_history_order ON meter_ride_history (order_id, id);
