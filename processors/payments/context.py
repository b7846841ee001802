"""What every payments use case works with: its ports, its time limits and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from processors.payments.ports import PaymentPorts, PaymentRepository, PaymentsService, Replier
from processors.payments.timing import Clock, Timing


@dataclass(frozen=True)
class PaymentContext:
    repository: PaymentRepository
    payments_service: PaymentsService
    replier: Replier
    timing: Timing
    now: Clock

    @classmethod
    def of(cls, ports: PaymentPorts, timing: Timing, clock: Clock) -> PaymentContext:
        return cls(ports.repository, ports.payments_service, ports.replier, timing, clock)

    def poll_soon(self) -> datetime:
        """When the status poll should look again at something it must retry."""
        return self.now() + self.timing.poll_interval
