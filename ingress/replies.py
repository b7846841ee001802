"""Requests waiting for their reply, by correlation id.

The future is registered before the request is produced, so a reply can never
arrive before anyone waits for it. A reply nobody waits for any more is late:
counted and dropped.
"""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Counter, Gauge

from schemas.envelope import Reply

log = structlog.get_logger(__name__)

AWAITING = Gauge("kafka_requests_awaiting_reply", "Requests waiting for their reply")
LATE_REPLIES = Counter(
    "kafka_late_replies_total", "Replies that arrived after their request gave up"
)
REPLIES = Counter("kafka_replies_received_total", "Replies received on the reply topic")


class PendingReplies:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Reply]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def is_waiting(self, correlation_id: str) -> bool:
        return correlation_id in self._waiting

    def register(self, correlation_id: str) -> asyncio.Future[Reply]:
        if correlation_id in self._waiting:
            raise ValueError(f"correlation id {correlation_id!r} is already waiting")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = future
        AWAITING.set(len(self._waiting))
        return future

    def discard(self, correlation_id: str) -> None:
        future = self._waiting.pop(correlation_id, None)
        if future is not None and not future.done():
            future.cancel()
        AWAITING.set(len(self._waiting))

    def resolve(self, correlation_id: str, reply: Reply) -> bool:
        """Hand the reply to its waiter; False (and counted) when nobody waits."""
        REPLIES.inc()
        future = self._waiting.pop(correlation_id, None)
        AWAITING.set(len(self._waiting))
        if future is None or future.done():
            LATE_REPLIES.inc()
            log.info("late_reply_dropped", correlation_id=correlation_id)
            return False
        future.set_result(reply)
        return True

    def fail_all(self, error: BaseException) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        AWAITING.set(0)
