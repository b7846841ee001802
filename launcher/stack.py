"""The local system for tests, driven synchronously: `LocalStack` runs a `Stack` on its own thread.

    stack = LocalStack(StackConfig.for_tests(tmp_path / "run")).start()
    stack.wait_until_healthy(60)
    ... stack.ingress_urls[0], stack.bootstrap_servers, stack.database_url, stack.pids ...
    stack.stop()

The orchestration is in launcher/orchestrator.py, the configuration in launcher/config.py;
both names are importable from here too.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from launcher.config import PROJECT_ROOT, StackConfig
from launcher.orchestrator import Stack

__all__ = ["PROJECT_ROOT", "LocalStack", "Stack", "StackConfig"]

T = TypeVar("T")


class LocalStack:
    """A Stack on its own thread and event loop, driven synchronously (pytest fixtures).

    Child output keeps flowing and dead children keep being restarted whatever the
    calling thread does (a test may block, sleep or run its own event loop).
    """

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.stack = Stack(self.config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="local-stack", daemon=True
        )
        self._thread.start()
        self._running = False

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def start(self, timeout: float = 120.0) -> LocalStack:
        """Start everything (ports in use: PortsInUse; nothing is left running on failure)."""
        atexit.register(self.stop)
        self._running = True
        try:
            self._call(self.stack.start(), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything and the private loop; safe to call twice."""
        if not self._running:
            return
        self._running = False
        atexit.unregister(self.stop)
        with contextlib.suppress(Exception):
            self._call(self.stack.stop(), 30.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self._loop.close()

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        self._call(self.stack.wait_until_healthy(timeout), timeout + 5)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def bootstrap_servers(self) -> str:
        return self.stack.bootstrap_servers

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    @property
    def ingress_urls(self) -> list[str]:
        return self.stack.ingress_urls

    @property
    def internal_urls(self) -> list[str]:
        return self.stack.internal_urls

    @property
    def sandbox_url(self) -> str:
        return self.stack.sandbox_url

    @property
    def worker_urls(self) -> list[str]:
        return self.stack.worker_urls

    @property
    def pids(self) -> dict[str, int]:
        """Current pid of each running child (changes when one is restarted)."""
        return self.stack.pids

    @property
    def broker_recoveries(self) -> int:
        """How many times the broker was brought back and its clients restarted."""
        return self.stack.broker_recoveries

    def restarts(self, name: str) -> int:
        """How many times the child `name` was restarted (after a death or on request)."""
        return self.stack.children[name].restarts

    def recent_output(self, name: str) -> list[str]:
        """The last 200 lines the child `name` wrote (handy in assertion messages)."""
        return list(self.stack.children[name].recent_output)
