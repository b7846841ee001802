"""What every sandbox route works with, reached through one FastAPI dependency."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from sandbox.events import PaymentEventPublisher
    from sandbox.faults import Faults
    from sandbox.journal import Journal
    from sandbox.latency import Latencies
    from sandbox.merch_payments import MerchPayments
    from sandbox.settings import Settings
    from sandbox.state import World

CORRELATION_HEADERS = ("correlation-id", "x-correlation-id", "x-request-id")


@dataclass
class Sandbox:
    settings: Settings
    world: World
    journal: Journal
    faults: Faults
    latencies: Latencies
    publisher: PaymentEventPublisher
    payments: MerchPayments


async def get_sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def correlation_id_of(headers: Mapping[str, str]) -> str | None:
    """The caller's correlation id; `headers` must be case-insensitive (Starlette's `Headers`)."""
    for name in CORRELATION_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


async def get_correlation_id(request: Request) -> str:
    """The caller's correlation id (`correlation-id` or `X-Request-Id`), or a new one."""
    return correlation_id_of(request.headers) or str(uuid.uuid4())


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
CorrelationIdDep = Annotated[str, Depends(get_correlation_id)]
