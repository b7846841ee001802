"""Readiness: the broker, the database and a processors round trip, each with its detail."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

CHECK_TIMEOUT_S = 2.0

Check = Callable[[], Awaitable[None]]


async def run_checks(checks: dict[str, Check]) -> tuple[bool, dict[str, Any]]:
    """Run every check concurrently, each bounded; (all ok, detail per dependency)."""
    names = list(checks)
    results = await asyncio.gather(*(_timed(checks[name]) for name in names))
    detail = dict(zip(names, results, strict=True))
    return all(result["ok"] for result in results), detail


async def _timed(check: Check) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check()
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
