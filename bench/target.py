"""Where the system under test answers: its two ingress listeners and the sandbox."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    # The partner listener (payments, /ping, /health).
    partner: str
    # The internal listener (driver route, ride events, probe, /metrics); the partner
    # URL again on a system that has one listener only.
    internal: str
    sandbox: str

    def base_for(self, internal: bool) -> str:
        return self.internal if internal else self.partner
