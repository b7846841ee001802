"""Every call each peer received, in arrival order, faulted ones included."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class JournalEntry:
    service: str
    method: str
    path: str  # below the peer's prefix, e.g. `/v0.2/rides`
    query: dict[str, str]
    body: Any  # parsed JSON; the raw text when not JSON; None when empty
    status: int | None  # None while the call is still being answered
    at: str  # RFC 3339 UTC, when the call arrived


class Journal:
    """Keeps the latest `limit` calls, so a long run or a benchmark cannot exhaust memory."""

    def __init__(self, limit: int = 20_000) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)

    def record(self, entry: JournalEntry) -> JournalEntry:
        """Append the entry at arrival; the caller sets `status` once it is known."""
        self._entries.append(entry)
        return entry

    def calls(self, service: str | None = None) -> list[dict[str, Any]]:
        return [asdict(e) for e in self._entries if service is None or e.service == service]

    def clear(self) -> None:
        self._entries.clear()
