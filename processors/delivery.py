"""How a processor answers and what it does with a message it cannot handle.

Every request that carries `reply-to` gets exactly one reply: the handler's
result, or an error envelope. The reply names the topic and key of the request
it answers (the ingress checks them), and goes only to a reply topic
(`replies.<instance>`): any other `reply-to` gets no reply (logged and counted).
A message that cannot be parsed or handled goes to the dead-letter topic with the
reason and its original headers, and the partition moves on. A database that is
away is answered `unavailable` (the caller retries); a message without a reply
address is dead-lettered then, to be replayed. Several messages of a partition
are handled at once (processors/keyed_concurrency.py): nothing here depends on
the order in which they end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from prometheus_client import Counter
from pydantic import ValidationError

from messaging import headers as h
from messaging.topics import DEAD_LETTERS, REPLY_TOPIC_PREFIX, base_topic
from observability.logs import correlation
from processors.database_errors import DatabaseFailure, classify
from schemas.envelope import Reply

log = structlog.get_logger(__name__)

DEAD_LETTERED = Counter(
    "dead_letters_total", "Messages sent to the dead-letter topic", ["topic", "reason"]
)
REPLIES_SENT = Counter("replies_sent_total", "Replies produced to reply topics", ["outcome"])
REPLIES_REFUSED = Counter(
    "replies_refused_total", "Replies not sent because reply-to is not a reply topic"
)


def is_reply_topic(topic: str) -> bool:
    """`replies.<instance>` (a slot of it too), as topics.yaml's `reply_topics` pattern."""
    instance = topic[len(REPLY_TOPIC_PREFIX) :]
    return (
        topic.startswith(REPLY_TOPIC_PREFIX)
        and 0 < len(instance) <= 200
        and all(c.isascii() and (c.isalnum() or c in "._-") for c in instance)
    )


class Producer(Protocol):
    """The part of a Kafka producer delivery needs (Faust's producer fits)."""

    async def send_and_wait(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
    ) -> Any: ...


@dataclass(frozen=True)
class Incoming:
    """One consumed record, reduced to what handlers and delivery need."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    @property
    def correlation_id(self) -> str | None:
        return h.header_map(self.headers).get(h.CORRELATION_ID)

    @property
    def reply_to(self) -> str | None:
        return h.header_map(self.headers).get(h.REPLY_TO)


class UnhandledMessage(Exception):
    """Raised by a handler for a message it can never handle (it is dead-lettered)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Handler = Callable[[Incoming], Awaitable[Reply | None]]
# A message's value as its dead letter may carry it (without secrets such as a QR code).
Redaction = Callable[[bytes], bytes]
UNREADABLE_REDACTED = b'{"redacted": "the value could not be read, so none of it is kept"}'


class Delivery:
    def __init__(self, producer: Producer) -> None:
        self._producer = producer
        self._redactions: dict[str, Redaction] = {}

    def redact_dead_letters(self, topic: str, redaction: Redaction) -> None:
        """Dead letters from `topic` (each of its slot topics too) carry `redaction(value)`."""
        self._redactions[topic] = redaction

    def _dead_letter_value(self, message: Incoming, *, redact: bool) -> bytes:
        redaction = self._redactions.get(base_topic(message.topic))
        if redaction is None or not redact:
            return message.value
        try:
            return redaction(message.value)
        except Exception:
            return UNREADABLE_REDACTED

    async def reply(
        self,
        reply_to: str,
        correlation_id: str,
        reply: Reply,
        *,
        request_topic: str | None = None,
        request_key: str | None = None,
    ) -> None:
        """Send `reply`, naming the request it answers (its topic and key) when known."""
        if not is_reply_topic(reply_to):
            REPLIES_REFUSED.inc()
            log.warning("reply_to_not_a_reply_topic", reply_to=reply_to[:200])
            return
        headers = {h.CORRELATION_ID: correlation_id}
        if request_topic is not None:
            headers[h.REPLY_FOR_TOPIC] = base_topic(request_topic)
        if request_key is not None:
            headers[h.REPLY_FOR_KEY] = request_key
        await self._producer.send_and_wait(
            reply_to,
            correlation_id.encode(),
            reply.model_dump_json().encode(),
            None,
            None,
            h.encode(headers),
        )
        REPLIES_SENT.labels("result" if reply.ok else "error").inc()

    async def dead_letter(self, message: Incoming, reason: str, *, redact: bool = True) -> None:
        """Send `message` to the dead letters; `redact=False` keeps its secrets whole.

        Input that was refused can never succeed, so its secrets (a QR code) are dropped.
        A message that failed for a reason that may pass (a bug fixed since, a database
        that was away) is kept whole for `ops dlq redrive`: the topic keeps it briefly and
        the operator tools mask it on display.
        """
        extra = {
            h.DLQ_REASON: reason[:1000],
            h.DLQ_TOPIC: message.topic,
            h.DLQ_PARTITION: str(message.partition),
            h.DLQ_OFFSET: str(message.offset),
        }
        headers = [(k, v) for k, v in message.headers if not k.startswith("dlq-")]
        await self._producer.send_and_wait(
            DEAD_LETTERS,
            message.key,
            self._dead_letter_value(message, redact=redact),
            None,
            None,
            headers + h.encode(extra),
        )
        DEAD_LETTERED.labels(base_topic(message.topic), reason.split(":", 1)[0]).inc()
        log.warning(
            "dead_lettered",
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            reason=reason,
        )

    async def handle(self, message: Incoming, handler: Handler) -> None:
        """Run `handler`; reply with what it returns; dead-letter what it cannot handle.

        Never raises: one bad message must not stop its partition.
        """
        with correlation(message.correlation_id):
            try:
                reply = await handler(message)
            except ValidationError as exc:
                await self._reject(message, "invalid_message", _validation_summary(exc))
                return
            except UnhandledMessage as exc:
                await self._reject(message, exc.code, exc.message)
                return
            except Exception as exc:
                failure = classify(exc)
                if failure is DatabaseFailure.UNAVAILABLE:
                    await self._database_unavailable(message, exc)
                    return
                if failure is DatabaseFailure.BAD_INPUT:
                    detail = f"the database refused it: {type(exc).__name__}"
                    await self._reject(message, "invalid_message", detail)
                    return
                log.exception("handler_failed", topic=message.topic, offset=message.offset)
                await self._reject(
                    message, "handler_error", f"{type(exc).__name__}: {exc}", redact=False
                )
                return
            if reply is not None:
                await self._reply_to_sender(message, reply)

    async def _database_unavailable(self, message: Incoming, exc: Exception) -> None:
        log.warning(
            "database_unavailable", topic=message.topic, offset=message.offset, error=repr(exc)
        )
        if message.reply_to is None or message.correlation_id is None:
            # Nobody to tell to retry: keep the message where it can be replayed.
            try:
                await self.dead_letter(message, f"unavailable: {type(exc).__name__}", redact=False)
            except Exception:
                log.exception("dead_letter_failed", topic=message.topic, offset=message.offset)
            return
        await self._reply_to_sender(
            message, Reply.failure("unavailable", "The database is unavailable; retry later.")
        )

    async def _reject(
        self, message: Incoming, code: str, detail: str, *, redact: bool = True
    ) -> None:
        try:
            await self.dead_letter(message, f"{code}: {detail}", redact=redact)
        except Exception:
            log.exception("dead_letter_failed", topic=message.topic, offset=message.offset)
        await self._reply_to_sender(
            message, Reply.failure(code, "The request could not be processed.")
        )

    async def _reply_to_sender(self, message: Incoming, reply: Reply) -> None:
        if message.reply_to is None or message.correlation_id is None:
            return
        try:
            await self.reply(
                message.reply_to,
                message.correlation_id,
                reply,
                request_topic=message.topic,
                request_key=message.key.decode("utf-8", "replace") if message.key else None,
            )
        except Exception:
            # The ingress stops waiting at its own deadline; nothing else to do here.
            log.exception("reply_failed", reply_to=message.reply_to)


def _validation_summary(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )
