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


class CachedReadiness:
    """Readiness computed at most once per `ttl_s` for the whole instance: /health is on
    the partner listener, and must not give anyone a Kafka round trip per request."""

    def __init__(self, ttl_s: float = 1.0) -> None:
        self._ttl_s = ttl_s
        self._lock = asyncio.Lock()
        self._at = float("-inf")
        self._result: tuple[bool, dict[str, Any]] = (False, {})

    async def get(
        self, compute: Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
    ) -> tuple[bool, dict[str, Any]]:
        async with self._lock:  # callers meanwhile wait for the one computation
            if time.monotonic() - self._at >= self._ttl_s:
                self._result = await compute()
                self._at = time.monotonic()
            return self._result
