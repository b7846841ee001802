-- Consumers record each message they have handled, so a redelivery after a crash
-- (Kafka delivers at least once) is recognised and skipped.
CREATE TABLE IF NOT EXISTS processed_messages (
    consumer text NOT NULL,
    message_id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);
