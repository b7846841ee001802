"""What every peer adapter of the processors raises, in one place.

Adapters turn whatever their peer does (timeouts, 5xx, refusals, odd bodies)
into these; the use cases of each capability turn them into the contract's
outcomes. No error here ever carries a request or response body: a body may
hold the driver's identity document number or a QR payload.
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
    """Timeout, connection failure, 5xx or an unreadable answer: the peer may work later.

    `request_not_sent` is True only when the request surely never reached the peer
    (the connection was refused), so nothing can have been created there.
    """

    def __init__(
        self, peer: str, operation: str, reason: str, *, request_not_sent: bool = False
    ) -> None:
        super().__init__(peer, operation, reason)
        self.request_not_sent = request_not_sent


class PeerRejected(PeerError):
    """The peer answered and refused (4xx); `reason` is its error code."""


class PeerNotFound(PeerRejected):
    """The peer does not know the thing asked for (or it lacks the field we need)."""


class RevisionConflict(PeerRejected):
    """order-core: the order changed between our read and our write."""
