"""One set of metrics for every call to a peer: count by outcome, latency, slowest call."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from observability.metrics import WindowedMax
from observability.peer_journal import JOURNAL, PeerCall

PEER_CALLS = Counter(
    "peer_calls_total",
    "Calls to peers by peer, operation and outcome",
    ["peer", "operation", "outcome"],
)
PEER_CALL_SECONDS = Histogram(
    "peer_call_duration_seconds",
    "Latency of calls to peers",
    ["peer", "operation"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PEER_CALL_MAX = WindowedMax(
    "peer_call_duration_max_seconds", "Slowest call to a peer", ["peer", "operation"]
)


def record_peer_call(call: PeerCall) -> None:
    """Count and time the call, and note it in the worker's peer journal (no bodies)."""
    JOURNAL.note(call)
    PEER_CALLS.labels(call.peer, call.operation, call.outcome).inc()
    PEER_CALL_SECONDS.labels(call.peer, call.operation).observe(call.seconds)
    PEER_CALL_MAX.observe((call.peer, call.operation), call.seconds)
