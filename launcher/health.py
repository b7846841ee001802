"""Readiness checks of the local system's processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import httpx

from launcher.ports import is_listening

# A readiness probe: None when ready, else what is wrong.
HealthCheck = Callable[[httpx.AsyncClient], Coroutine[Any, Any, str | None]]


async def wait_until_healthy(checks: Mapping[str, HealthCheck], timeout: float) -> None:  # noqa: ASYNC109
    """Poll every check until all pass; TimeoutError naming what is still wrong."""
    deadline = time.monotonic() + timeout
    problems: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            results = await asyncio.gather(*(check(client) for check in checks.values()))
            problems = {
                name: problem
                for name, problem in zip(checks, results, strict=True)
                if problem is not None
            }
            if not problems:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"not healthy after {timeout:.0f} s: "
                    + "; ".join(f"{name}: {problem}" for name, problem in problems.items())
                )
            await asyncio.sleep(0.25)


def http_check(url: str) -> HealthCheck:
    async def check(client: httpx.AsyncClient) -> str | None:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            return f"GET {url} failed: {exc!r}"
        if response.status_code != 200:
            return f"GET {url} answered {response.status_code}: {response.text[:200]}"
        return None

    return check


def port_check(host: str, port: int) -> HealthCheck:
    async def check(client: httpx.AsyncClient) -> str | None:
        if await asyncio.to_thread(is_listening, port, host):
            return None
        return f"nothing listens on {host}:{port}"

    return check
