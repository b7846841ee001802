"""The worker's PostgreSQL pool: a bounded wait for a connection, and for a lock.

A request waits at most `database_acquire_timeout_s` for a pooled connection and
`database_lock_timeout_ms` for a row or table lock; past either it fails with an error
`processors.database_errors` calls unavailable, so the caller gets a 503 in time instead
of a hang when a transaction is stuck or the pool is exhausted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from processors.settings import WorkerSettings


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset hook: nothing to do.

    asyncpg takes `reset=None` to mean its default reset query (advisory unlocks,
    CLOSE ALL, UNLISTEN, RESET ALL: a round trip per release); with a hook it only
    rolls back a transaction left open, then calls the hook.
    """


class BoundedWaitPool(asyncpg.Pool):  # type: ignore[misc]
    """An asyncpg pool whose `acquire` has a timeout unless the caller gives one."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def open_pool(
    settings: WorkerSettings,
    *,
    setup: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> asyncpg.Pool:
    pool = BoundedWaitPool(
        settings.database_url,
        acquire_timeout=settings.database_acquire_timeout_s,
        init_size=None,
        min_size=1,
        max_size=settings.database_pool_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=setup,
        init=None,
        # Handlers leave no session state behind; the per-release reset query is pure cost.
        reset=keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=5,
        server_settings={"lock_timeout": str(settings.database_lock_timeout_ms)},
    )
    await pool
    return pool
