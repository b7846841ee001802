"""Prometheus metrics of the meters capability. Labels are fixed vocabularies
(steps, reasons, outcomes): never an order id, a driver id or anything personal."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

SKIPPED_EVENTS = Counter(
    "meter_ride_events_skipped_total",
    "Ride events that changed nothing, by event and reason",
    ["event", "reason"],
)
REFUSED_EVENTS = Counter(
    "meter_ride_events_refused_total",
    "Ride events refused because they disagree with the order in order-core "
    "(performer_mismatch, country_mismatch): nothing was started or cancelled",
    ["event", "reason"],
)
STARTS = Counter(
    "meter_starts_total",
    "Meter starts by outcome (started, failed) and failing step ('' when started)",
    ["outcome", "step"],
)
START_DURATION = Histogram(
    "meter_start_duration_seconds",
    "Time of one meter start, from taking the event to the last peer call",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FALLBACKS = Counter(
    "meter_start_fallbacks_total",
    "Parts of the manual-price fallback after a failed start (setcar false, push), by outcome",
    ["part", "outcome"],
)
CANCELS = Counter(
    "meter_cancels_total", "Meter rides cancelled on ride_cancelled, by outcome", ["outcome"]
)
FINISHES = Counter(
    "meter_finishes_total",
    "Finish-ride requests from the Pro app by outcome (ok or the error code)",
    ["outcome"],
)
ISRAEL_RIDES_FINISHED = Counter(
    "israel_rides_finished_total",
    "Rides in Israel that finished (ride_finished), with or without a smart meter ride, "
    "and whether the meter part succeeded",
    ["smart_meter", "success"],
)
ISRAEL_RIDES_CANCELLED = Counter(
    "israel_rides_cancelled_total",
    "Rides in Israel that were cancelled (ride_cancelled), with or without a smart meter ride",
    ["smart_meter"],
)
