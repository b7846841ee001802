"""The use cases the agents call, installed once by the composition root
(`processors.bootstrap`) when the worker's resources open.

Faust agents are module-level functions registered at import, before any pool or
HTTP client exists; this is the one place they reach the use cases through.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.meters.service import FinishRide, RideEvents
from processors.payments.use_cases import PaymentUseCases


@dataclass(frozen=True)
class MeterUseCases:
    ride_events: RideEvents
    finish_ride: FinishRide


@dataclass(frozen=True)
class UseCases:
    payments: PaymentUseCases
    meters: MeterUseCases


class Wiring:
    def __init__(self) -> None:
        self._use_cases: UseCases | None = None

    def install(self, use_cases: UseCases) -> None:
        self._use_cases = use_cases

    @property
    def ready(self) -> bool:
        return self._use_cases is not None

    @property
    def use_cases(self) -> UseCases:
        if self._use_cases is None:
            raise RuntimeError("the use cases are built when the worker's resources open")
        return self._use_cases


wiring = Wiring()
