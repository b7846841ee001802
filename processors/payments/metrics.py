"""Prometheus metrics of the payments capability. Labels are bounded: partner names
from configuration, outcomes and reasons from the contract; never ids or payloads."""

from __future__ import annotations

from prometheus_client import Counter

PAYMENTS = Counter(
    "payments_total",
    "Authorizations by partner and outcome (pending counted when a payment starts waiting)",
    ["partner", "outcome", "decline_reason"],
)
CANCELS = Counter(
    "payment_cancels_total", "Cancel requests by partner and outcome", ["partner", "outcome"]
)
REFUNDS = Counter(
    "payment_refunds_total", "Refund requests by partner and outcome", ["partner", "outcome"]
)
POLL_ACTIONS = Counter(
    "payment_poll_actions_total", "What the status poll did", ["action", "outcome"]
)
EVENTS = Counter("merch_payment_events_total", "Payments service events by effect", ["effect"])
