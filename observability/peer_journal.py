"""A journal of the peer calls a worker makes, for `python -m ops trace`: table `peer_calls`.

Each call is noted in memory (what it was made for, method, path, outcome, duration -
never a body, which may carry personal data) and a background task writes the notes
in batches, so the hot path pays no database round trip. Notes past `MAX_PENDING`
are dropped while the database is away: the journal is for reading, not for money.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from observability.context_values import set_for_block
from observability.logs import correlation_id_var

log = structlog.get_logger(__name__)

# What the calls made now are for (an order id, a message key); a call that knows
# better (the payment id in its path) names its subject itself.
subject_var: ContextVar[str | None] = ContextVar("peer_journal_subject", default=None)

MAX_PENDING = 10_000
FLUSH_EVERY_S = 0.5
RETENTION_DAYS = 7
_COLUMNS = (
    "at",
    "subject",
    "correlation_id",
    "peer",
    "operation",
    "method",
    "path",
    "outcome",
    "duration_ms",
)


def journal_subject(subject: str | None) -> AbstractContextManager[None]:
    """Note every peer call made inside the block as made for `subject`."""
    return set_for_block(subject_var, subject)


@dataclass(frozen=True, slots=True)
class PeerCall:
    """One finished call to a peer, as its caller saw it (never its body)."""

    peer: str
    operation: str
    outcome: str
    seconds: float
    method: str
    path: str
    # What the call was made for, when the caller knows better than `journal_subject`.
    subject: str | None


@dataclass(frozen=True)
class PeerCallNote:
    at: datetime
    subject: str | None
    correlation_id: str | None
    peer: str
    operation: str
    method: str | None
    path: str | None
    outcome: str
    duration_ms: float

    def row(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in _COLUMNS)


class PeerJournal:
    """Notes waiting to be written; `note` is cheap and never fails."""

    def __init__(self) -> None:
        self.pending: deque[PeerCallNote] = deque(maxlen=MAX_PENDING)
        self.enabled = False

    def note(self, call: PeerCall) -> None:
        if not self.enabled:
            return
        self.pending.append(
            PeerCallNote(
                at=datetime.now(UTC),
                subject=call.subject if call.subject is not None else subject_var.get(),
                correlation_id=correlation_id_var.get(),
                peer=call.peer,
                operation=call.operation,
                method=call.method,
                path=call.path,
                outcome=call.outcome,
                duration_ms=round(call.seconds * 1000, 3),
            )
        )

    def take(self) -> list[PeerCallNote]:
        taken = list(self.pending)
        self.pending.clear()
        return taken


JOURNAL = PeerJournal()


class PeerJournalWriter:
    """Writes `JOURNAL`'s notes to PostgreSQL every `FLUSH_EVERY_S` while the worker runs."""

    def __init__(self, pool: asyncpg.Pool, journal: PeerJournal = JOURNAL) -> None:
        self._pool = pool
        self._journal = journal
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._journal.enabled = True
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._journal.enabled = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> int:
        notes = self._journal.take()
        if notes:
            async with self._pool.acquire() as connection:
                await connection.copy_records_to_table(
                    "peer_calls", records=[n.row() for n in notes], columns=_COLUMNS
                )
        return len(notes)

    async def _run(self) -> None:
        rounds = 0
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            rounds += 1
            try:
                await self.flush()
                if rounds % 600 == 0:  # about every 5 minutes
                    async with self._pool.acquire() as connection:
                        await connection.execute(
                            "DELETE FROM peer_calls WHERE at < now() - make_interval(days => $1)",
                            RETENTION_DAYS,
                        )
            except Exception as exc:
                log.warning("peer_journal_write_failed", error=type(exc).__name__)
