"""Why the payments table changes now, for its history (migrations/0004_*.sql).

A trigger writes `payment_history` and takes the cause from the session setting
`taxi.change_cause`. Use cases run inside `caused_by(...)`; the pool's setup hook
hands the cause to each connection it gives out, with a round trip only when the
connection's cause changes.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from contextvars import ContextVar

import asyncpg

from observability.context_values import set_for_block

SETTING = "taxi.change_cause"

cause_var: ContextVar[str] = ContextVar("change_cause", default="")

# Server process id -> the cause that connection's session holds.
_session_cause: dict[int, str] = {}


def caused_by(cause: str) -> AbstractContextManager[None]:
    """Every change made inside the block is recorded as made for `cause`."""
    return set_for_block(cause_var, cause)


async def apply_change_cause(connection: asyncpg.Connection) -> None:
    """asyncpg pool `setup` hook: the session's cause becomes the current one."""
    cause = cause_var.get()
    pid = connection.get_server_pid()
    if _session_cause.get(pid, "") == cause:
        return
    await connection.execute(f"SELECT set_config('{SETTING}', $1, false)", cause)
    if len(_session_cause) > 1000:  # connections come and go over a long life
        _session_cause.clear()
    _session_cause[pid] = cause
