"""Injected faults: which peer operations fail, how, and how many more times.

`POST /_sandbox/faults` adds a rule, `DELETE /_sandbox/faults` removes them
all. The rules are applied to every peer call by `sandbox.peer_calls`.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from sandbox.context import SandboxDep
from sandbox.peer_names import PEER_SERVICES


class FaultMode(StrEnum):
    ERROR = "error"  # 500 with a JSON body
    TIMEOUT = "timeout"  # hang, then 504 (the caller times out first)
    SLOW = "slow"  # delay, then serve normally


@dataclass
class FaultRule:
    fault_id: int
    service: str
    operation: str  # a suffix of the path below the peer's prefix, or `*`
    mode: FaultMode
    times: int | None  # remaining; None = always

    def matches(self, service: str, path: str) -> bool:
        if service != self.service:
            return False
        return self.operation == "*" or path.endswith(self.operation)


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, service: str, operation: str, mode: FaultMode, times: int | None) -> FaultRule:
        rule = FaultRule(next(self._ids), service, operation, mode, times)
        self._rules.append(rule)
        return rule

    def take(self, service: str, path: str) -> FaultMode | None:
        """The fault to apply to this call, if any; counts down the rule's `times`."""
        for rule in self._rules:
            if not rule.matches(service, path):
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            return rule.mode
        return None

    def rules(self) -> list[dict[str, Any]]:
        return [asdict(rule) for rule in self._rules]

    def clear(self) -> None:
        self._rules.clear()


class FaultRequest(BaseModel):
    service: str
    operation: str = Field(min_length=1)
    mode: FaultMode
    times: int | None = Field(default=None, ge=1)

    @field_validator("service")
    @classmethod
    def _known_service(cls, value: str) -> str:
        if value not in PEER_SERVICES:
            raise ValueError(f"unknown service; one of {', '.join(PEER_SERVICES)}")
        return value


router = APIRouter(prefix="/_sandbox/faults", tags=["control"])


@router.post("")
async def add_fault(body: FaultRequest, sandbox: SandboxDep) -> dict[str, Any]:
    rule = sandbox.faults.add(body.service, body.operation, body.mode, body.times)
    return asdict(rule)


@router.get("")
async def list_faults(sandbox: SandboxDep) -> dict[str, Any]:
    return {"faults": sandbox.faults.rules()}


@router.delete("")
async def clear_faults(sandbox: SandboxDep) -> dict[str, Any]:
    sandbox.faults.clear()
    return {"faults": []}
