"""Injected faults: which peer operations fail, how, and how many more times.

`POST /_sandbox/faults` adds a rule, `DELETE /_sandbox/faults` removes them
all. The rules are applied to every peer call by `sandbox.peer_calls`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Self

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from sandbox.context import SandboxDep
from sandbox.peer_names import ServiceName

MAX_DELAY_MS = 600_000


class FaultMode(StrEnum):
    ERROR = "error"  # 500 with a JSON body
    TIMEOUT = "timeout"  # hang, then 504 (the caller times out first)
    SLOW = "slow"  # delay (`delay_ms`, by default 1.5 s), then serve normally


@dataclass
class FaultRule:
    fault_id: int
    service: str
    operation: str  # a suffix of the path below the peer's prefix, or `*`
    mode: FaultMode
    times: int | None  # remaining; None = always
    delay_ms: int | None = None  # `slow` only; None = the settings' default

    def matches(self, service: str, path: str) -> bool:
        if service != self.service:
            return False
        return self.operation == "*" or path.endswith(self.operation)


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(
        self,
        service: str,
        operation: str,
        mode: FaultMode,
        times: int | None,
        delay_ms: int | None = None,
    ) -> FaultRule:
        rule = FaultRule(next(self._ids), service, operation, mode, times, delay_ms)
        self._rules.append(rule)
        return rule

    def take(self, service: str, path: str) -> FaultRule | None:
        """The fault to apply to this call, if any; counts down the rule's `times`."""
        for rule in self._rules:
            if not rule.matches(service, path):
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    def rules(self) -> list[dict[str, Any]]:
        return [asdict(rule) for rule in self._rules]

    def clear(self) -> None:
        self._rules.clear()


class FaultRequest(BaseModel):
    service: ServiceName
    operation: str = Field(min_length=1)
    mode: FaultMode
    times: int | None = Field(default=None, ge=1)
    delay_ms: int | None = Field(default=None, ge=0, le=MAX_DELAY_MS)

    @model_validator(mode="after")
    def _delay_only_when_slow(self) -> Self:
        if self.delay_ms is not None and self.mode is not FaultMode.SLOW:
            raise ValueError("delay_ms is for the slow mode only")
        return self


router = APIRouter(prefix="/_sandbox/faults", tags=["control"])


@router.post("")
async def add_fault(body: FaultRequest, sandbox: SandboxDep) -> dict[str, Any]:
    rule = sandbox.faults.add(body.service, body.operation, body.mode, body.times, body.delay_ms)
    return asdict(rule)


@router.get("")
async def list_faults(sandbox: SandboxDep) -> dict[str, Any]:
    return {"faults": sandbox.faults.rules()}


@router.delete("")
async def clear_faults(sandbox: SandboxDep) -> dict[str, Any]:
    sandbox.faults.clear()
    return {"faults": []}
