"""Errors of the meters capability, in one place.

Adapters turn whatever their peer does (timeouts, 5xx, refusals, odd bodies)
into `PeerError`s; the use cases turn those into the outcomes of the contract.
No error here ever carries a request or response body: a body may hold the
driver's identity document number.
"""

from __future__ import annotations


class PeerError(Exception):
    """A peer call that did not give what was asked."""

    def __init__(self, peer: str, operation: str, reason: str) -> None:
        super().__init__(f"{peer} {operation}: {reason}")
        self.peer = peer
        self.operation = operation
        self.reason = reason


class PeerUnavailable(PeerError):
    """Timeout, connection failure, 5xx or an unreadable answer: the peer may work later."""


class PeerRejected(PeerError):
    """The peer answered and refused (4xx); `reason` is its error code."""


class PeerNotFound(PeerRejected):
    """The peer does not know the thing asked for (or it lacks the field we need)."""


class RevisionConflict(PeerRejected):
    """order-core: the order changed between our read and our write."""


class FinishRefused(Exception):
    """A finish-ride request that gets an error answer; `code` is the contract's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
