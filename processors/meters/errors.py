"""Errors of the meters capability: the processors' peer errors
(`processors.peer_errors`, shared with payments) and the finish's refusal.

No error here ever carries a request or response body: a body may hold the
driver's identity document number.
"""

from __future__ import annotations

from processors.peer_errors import (
    PeerError,
    PeerNotFound,
    PeerRejected,
    PeerUnavailable,
    RevisionConflict,
)

__all__ = [
    "FinishRefused",
    "PeerError",
    "PeerNotFound",
    "PeerRejected",
    "PeerUnavailable",
    "RevisionConflict",
]


class FinishRefused(Exception):
    """A finish-ride request that gets an error answer; `code` is the contract's code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
