"""Readiness is computed at most once per interval, however many ask."""

from __future__ import annotations

import asyncio
from typing import Any

from ingress.health import CachedReadiness


async def test_concurrent_and_repeated_asks_share_one_computation() -> None:
    calls = 0

    async def compute() -> tuple[bool, dict[str, Any]]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return True, {"n": calls}

    readiness = CachedReadiness(ttl_s=0.2)
    answers = await asyncio.gather(*(readiness.get(compute) for _ in range(50)))
    assert calls == 1 and all(answer == (True, {"n": 1}) for answer in answers)
    await asyncio.sleep(0.25)
    assert await readiness.get(compute) == (True, {"n": 2})
