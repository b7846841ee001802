"""Peers as slow as real ones: a log-normal wait before every call to a peer.

`POST /_sandbox/latency {"service", "median_ms", "p99_ms"}` gives that peer a
latency profile; `DELETE /_sandbox/latency` makes every peer instant again
(`?service=` just one). Service times are skewed with a long tail, which a
log-normal models with two figures people actually quote: the median and the
99th percentile. The waits are applied by `sandbox.peer_calls`.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any, Self

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from sandbox.context import SandboxDep
from sandbox.peer_names import ServiceFilter, ServiceName

# The standard normal's 99th percentile: p99 = median * exp(Z_99 * sigma).
Z_99 = 2.3263478740408408
MAX_MEDIAN_MS = 60_000
MAX_P99_MS = 120_000


@dataclass(frozen=True)
class LatencyProfile:
    service: str
    median_ms: float
    p99_ms: float

    @property
    def sigma(self) -> float:
        """The log-normal's shape: 0 when p99 equals the median (a constant wait)."""
        return math.log(self.p99_ms / self.median_ms) / Z_99

    def sample_ms(self, rng: random.Random) -> float:
        return rng.lognormvariate(math.log(self.median_ms), self.sigma)


class Latencies:
    """The latency profile of each peer that has one; the others answer at once."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._profiles: dict[str, LatencyProfile] = {}

    def set(self, profile: LatencyProfile) -> None:
        self._profiles[profile.service] = profile

    def wait_seconds(self, service: str) -> float:
        """How long this call to `service` waits before it is served (0: no profile)."""
        profile = self._profiles.get(service)
        return profile.sample_ms(self._rng) / 1000 if profile is not None else 0.0

    def profiles(self) -> list[dict[str, Any]]:
        return [asdict(profile) for profile in self._profiles.values()]

    def clear(self, service: str | None = None) -> None:
        if service is None:
            self._profiles.clear()
        else:
            self._profiles.pop(service, None)


class LatencyRequest(BaseModel):
    service: ServiceName
    median_ms: float = Field(gt=0, le=MAX_MEDIAN_MS)
    p99_ms: float = Field(gt=0, le=MAX_P99_MS)

    @model_validator(mode="after")
    def _tail_not_below_median(self) -> Self:
        if self.p99_ms < self.median_ms:
            raise ValueError("p99_ms must be at least median_ms")
        return self


router = APIRouter(prefix="/_sandbox/latency", tags=["control"])


@router.post("")
async def set_latency(body: LatencyRequest, sandbox: SandboxDep) -> dict[str, Any]:
    profile = LatencyProfile(body.service, body.median_ms, body.p99_ms)
    sandbox.latencies.set(profile)
    return asdict(profile)


@router.get("")
async def list_latencies(sandbox: SandboxDep) -> dict[str, Any]:
    return {"latencies": sandbox.latencies.profiles()}


@router.delete("")
async def clear_latencies(sandbox: SandboxDep, service: ServiceFilter) -> dict[str, Any]:
    """Every peer instant again, or only `service`."""
    sandbox.latencies.clear(service)
    return {"latencies": sandbox.latencies.profiles()}
