"""The one way tests wait: poll a condition until it holds, with a bound.

`eventually` (async) and `eventually_sync` (for threads and synchronous tests)
share the deadline rule: the condition is checked at least once after the
deadline passes, and a test that runs out of time fails naming what it waited for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest


class _Deadline:
    def __init__(self, timeout: float, what: str) -> None:
        self._at = time.monotonic() + timeout
        self._timeout = timeout
        self._what = what

    def passed(self) -> bool:
        return time.monotonic() > self._at

    def fail(self) -> None:
        pytest.fail(f"timed out after {self._timeout} s waiting for {self._what}")


async def eventually(
    check: Callable[[], Awaitable[Any]],
    *,
    timeout: float = 15.0,
    interval: float = 0.2,
    what: str = "",
) -> Any:
    """The first truthy result of `check`; fails the test after `timeout` seconds."""
    deadline = _Deadline(timeout, what or repr(check))
    while True:
        late = deadline.passed()
        result = await check()
        if result:
            return result
        if late:
            deadline.fail()
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> Any:
    """`eventually` for code that is not async (a test thread, a synchronous test)."""
    deadline = _Deadline(timeout, what or repr(check))
    while True:
        late = deadline.passed()
        result = check()
        if result:
            return result
        if late:
            deadline.fail()
        time.sleep(interval)
