"""The ingress's PostgreSQL pool: reads of state the processors own, and health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from ingress.errors import ApiError

# What a query can raise when the server is away rather than the query wrong: the
# connection lost or refused (class 08, OSError), the server starting up or shutting
# down (class 57: 57P03 "cannot connect now" during a restart), the timeout, and a
# connection that got the dying server's unsolicited FATAL and is not closed yet (its
# next query fails with "another operation is in progress": PostgreSQL SIGKILLed).
_AWAY: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InternalClientError,
)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Reads leave no session state; `reset=None` would mean asyncpg's reset query."""


class Database:
    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        # min_size=0: the ingress starts, and reports unhealthy, while the database is down.
        self._pool = await asyncpg.create_pool(
            self._url,
            min_size=0,
            max_size=10,
            command_timeout=self._timeout_s,
            reset=_keep_session,
        )

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection within the timeout, or 503 `unavailable`."""
        if self._pool is None:
            raise ApiError.unavailable("The database is not connected.")
        try:
            async with asyncio.timeout(self._timeout_s):
                connection = await self._pool.acquire()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            raise ApiError.unavailable("The database is unavailable.") from exc
        try:
            yield connection
        except _AWAY as exc:
            # Never handed out again: its protocol state is unknown after the failure.
            # (A connection already lost has been taken back by the pool: nothing to do.)
            with contextlib.suppress(asyncpg.InterfaceError):
                connection.terminate()
            raise ApiError.unavailable("The database is unavailable.") from exc
        finally:
            await self._pool.release(connection)

    async def check(self) -> None:
        async with self.connection() as connection:
            await connection.fetchval("SELECT 1")
