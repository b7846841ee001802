"""Requests waiting for their reply, by correlation id.

The future is registered before the request is produced, so a reply can never
arrive before anyone waits for it. A reply nobody waits for any more is late:
counted and dropped. A reply must name the topic and key of the request it
answers; one that names another request (or none) is mismatched: counted and
dropped, and the request keeps waiting for its own.
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
MISMATCHED_REPLIES = Counter(
    "kafka_mismatched_replies_total",
    "Replies dropped because they do not answer the request waiting under their id",
)

# (topic, key) of a request; on a reply, what it says it answers (None where absent).
RequestRef = tuple[str, str]
Answers = tuple[str | None, str | None]


class _Waiter:
    __slots__ = ("future", "request")

    def __init__(self, future: asyncio.Future[Reply], request: RequestRef) -> None:
        self.future = future
        self.request = request


class PendingReplies:
    def __init__(self) -> None:
        self._waiting: dict[str, _Waiter] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def is_waiting(self, correlation_id: str) -> bool:
        return correlation_id in self._waiting

    def register(self, correlation_id: str, topic: str, key: str) -> asyncio.Future[Reply]:
        """Wait for the reply to the request (`topic`, `key`) sent under `correlation_id`."""
        if correlation_id in self._waiting:
            raise ValueError(f"correlation id {correlation_id!r} is already waiting")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._waiting[correlation_id] = _Waiter(future, (topic, key))
        AWAITING.set(len(self._waiting))
        return future

    def discard(self, correlation_id: str) -> None:
        waiter = self._waiting.pop(correlation_id, None)
        if waiter is not None and not waiter.future.done():
            waiter.future.cancel()
        AWAITING.set(len(self._waiting))

    def resolve(self, correlation_id: str, reply: Reply, answers: Answers) -> bool:
        """Hand the reply to its waiter; False (and counted) when nobody waits for it."""
        REPLIES.inc()
        waiter = self._waiting.get(correlation_id)
        if waiter is None or waiter.future.done():
            LATE_REPLIES.inc()
            log.info("late_reply_dropped", correlation_id=correlation_id)
            return False
        if answers != waiter.request:
            MISMATCHED_REPLIES.inc()
            log.warning(
                "mismatched_reply_dropped",
                correlation_id=correlation_id,
                expected_topic=waiter.request[0],
                answered_topic=answers[0],
            )
            return False
        del self._waiting[correlation_id]
        AWAITING.set(len(self._waiting))
        waiter.future.set_result(reply)
        return True

    def fail_all(self, error: BaseException) -> None:
        for waiter in self._waiting.values():
            if not waiter.future.done():
                waiter.future.set_exception(error)
        self._waiting.clear()
        AWAITING.set(0)
