"""Cells against slow peers: one scenario with one peer as slow as a real one, beside the
same scenario with every peer instant, at the same concurrency and in the same run.

The sandbox makes a peer slow with `POST /_sandbox/latency` (a log-normal wait with
the given median and 99th percentile before every call, contract section 6) and
instant again with `DELETE /_sandbox/latency`. A slow cell is reported as a share of
its instant cell: throughput slow/instant, p99 slow/instant and the milliseconds
the slow peer added to the p99.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bench.ride_starts import RIDE_START
from bench.wrk import LoadResult

DEFAULT_SLOW_CONCURRENCY = [32, 128]


@dataclass(frozen=True)
class SlowPeer:
    name: str  # what --slow calls it
    service: str  # the sandbox's prefix for the peer
    median_ms: float
    p99_ms: float
    scenario: str  # the scenario (or the ride-start cell) whose requests wait on this peer
    # Run by default when this wrk scenario is chosen.
    with_scenario: str

    @property
    def label(self) -> str:
        return f"{self.scenario}, {self.service} {self.median_ms:g}/{self.p99_ms:g} ms"


SLOW_PEERS: dict[str, SlowPeer] = {
    "payments": SlowPeer(
        "payments", "contractor-merch-payments", 50, 200, "authorize", "authorize"
    ),
    "monitex": SlowPeer("monitex", "monitex", 300, 1000, "finish-ride", "finish-ride"),
    "monitex-start": SlowPeer("monitex-start", "monitex", 300, 1000, RIDE_START, "finish-ride"),
}


@dataclass(frozen=True)
class SlowCell:
    peer: SlowPeer
    instant: LoadResult
    slow: LoadResult

    @property
    def throughput_share(self) -> float:
        return self.slow.rps / self.instant.rps if self.instant.rps else 0.0

    @property
    def p99_share(self) -> float:
        return self.slow.p99_ms / self.instant.p99_ms if self.instant.p99_ms else 0.0

    @property
    def p99_added_ms(self) -> float:
        return self.slow.p99_ms - self.instant.p99_ms

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.peer.scenario,
            "peer": self.peer.service,
            "median_ms": self.peer.median_ms,
            "p99_ms": self.peer.p99_ms,
            "concurrency": self.slow.concurrency,
            "instant": {"rps": round(self.instant.rps, 1), **_figures(self.instant)},
            "slow": {"rps": round(self.slow.rps, 1), **_figures(self.slow)},
            "throughput_share": round(self.throughput_share, 3),
            "p99_share": round(self.p99_share, 3),
            "p99_added_ms": round(self.p99_added_ms, 1),
        }


def _figures(result: LoadResult) -> dict[str, Any]:
    return {
        "requests": result.requests,
        "errors": result.errors,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "max_ms": result.max_ms,
    }


def clear_latencies(sandbox: str) -> None:
    """Every peer instant; a sandbox without latency control cannot run the slow cells."""
    response = httpx.delete(f"{sandbox}/_sandbox/latency", timeout=10)
    if response.status_code == 404:
        raise SystemExit(
            "this sandbox has no DELETE /_sandbox/latency: run without the slow cells (--slow none)"
        )
    response.raise_for_status()


@contextmanager
def slowed(sandbox: str, peer: SlowPeer) -> Iterator[None]:
    """`peer` answers with its latency profile inside the block, at once again after it."""
    httpx.post(
        f"{sandbox}/_sandbox/latency",
        json={"service": peer.service, "median_ms": peer.median_ms, "p99_ms": peer.p99_ms},
        timeout=10,
    ).raise_for_status()
    try:
        yield
    finally:
        httpx.delete(
            f"{sandbox}/_sandbox/latency", params={"service": peer.service}, timeout=10
        ).raise_for_status()
