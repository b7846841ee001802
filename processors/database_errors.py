"""Which failures mean "the database is away" and which "this input cannot be stored".

The one place that sorts them. `Delivery` answers the first kind `unavailable` (the
ingress's 503: the caller retries, every step is idempotent) and dead-letters the second
with `invalid_message` (400), so neither ever comes back as a 500.
"""

from __future__ import annotations

import enum

import asyncpg
from asyncpg import exceptions as pg


class DatabaseFailure(enum.Enum):
    UNAVAILABLE = "unavailable"
    BAD_INPUT = "invalid_message"


# Checked first: asyncpg's client-side DataError (an argument it cannot encode, e.g. an
# integer out of range) is also an InterfaceError.
_BAD_INPUT: tuple[type[BaseException], ...] = (
    pg.DataError,  # SQLSTATE class 22: NUL byte, value too long, numeric overflow
    pg.IntegrityConstraintViolationError,  # class 23 that the use case did not expect
    pg._base.DataError,
)

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset (ConnectionError is one)
    TimeoutError,  # pool acquire timeout, command timeout
    pg.PostgresConnectionError,  # class 08: connection lost or refused
    pg.OperatorInterventionError,  # class 57: 57P01 admin shutdown, 57P03 cannot connect now
    pg.InsufficientResourcesError,  # class 53: too many connections, disk full, out of memory
    pg.LockNotAvailableError,  # 55P03: lock_timeout (a transaction holds what we need)
    pg.TransactionRollbackError,  # class 40: serialization failure, deadlock
    asyncpg.InterfaceError,  # connection closed under us, pool closing
    # A pooled connection that got the server's unsolicited FATAL when it died ("terminating
    # connection due to unexpected postmaster exit") and is not closed yet: its next query
    # fails with "another operation is in progress". Seen when PostgreSQL is SIGKILLed.
    pg.InternalClientError,
)


def classify(exc: BaseException) -> DatabaseFailure | None:
    """The kind of database failure `exc` is, or None when it is none of ours."""
    if isinstance(exc, _BAD_INPUT):
        return DatabaseFailure.BAD_INPUT
    if isinstance(exc, _UNAVAILABLE):
        return DatabaseFailure.UNAVAILABLE
    return None


def is_unavailable(exc: BaseException) -> bool:
    return classify(exc) is DatabaseFailure.UNAVAILABLE
