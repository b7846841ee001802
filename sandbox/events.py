"""Where the fake payments service announces status changes: `merch-payment-events`.

`KafkaPaymentEventPublisher` never blocks or fails the HTTP call that caused
the change: events go through a bounded queue to a background task that
connects (and reconnects) to the broker on its own, and failures are only
logged. The processors also poll the payment's status, so a lost event delays
a payment, it does not strand it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from messaging.headers import CORRELATION_ID
from messaging.kafka_auth import KafkaAuth
from messaging.rotation import TopicRotation
from messaging.topics import MERCH_PAYMENT_EVENTS
from sandbox.peer_models.contractor_merch_payments import PaymentStatusChanged

log = structlog.get_logger(__name__)


class PaymentEventPublisher(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: PaymentStatusChanged, correlation_id: str) -> None:
        """Hand the event over for publishing; never raises for broker trouble."""


@dataclass(frozen=True)
class PublishedEvent:
    topic: str
    key: str
    event: PaymentStatusChanged
    headers: dict[str, str]


class InMemoryPaymentEventPublisher:
    """Keeps what would have been published, for tests."""

    def __init__(self) -> None:
        self.published: list[PublishedEvent] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, event: PaymentStatusChanged, correlation_id: str) -> None:
        self.published.append(
            PublishedEvent(
                topic=MERCH_PAYMENT_EVENTS,
                key=event.payment_id,
                event=event,
                headers={CORRELATION_ID: correlation_id},
            )
        )

    def for_payment(self, payment_id: str) -> list[PaymentStatusChanged]:
        return [p.event for p in self.published if p.key == payment_id]


class KafkaPaymentEventPublisher:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = MERCH_PAYMENT_EVENTS,
        rotation: TopicRotation | None = None,
        request_timeout_ms: int = 5_000,
        linger_ms: int = 10,
        retry_seconds: float = 1.0,
        max_retry_seconds: float = 10.0,
        queue_size: int = 10_000,
        auth: KafkaAuth | None = None,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        # The payments service's own identity: the only one allowed to write this topic.
        self._auth_options = (auth or KafkaAuth()).client_options()
        self._ring = (rotation or TopicRotation()).ring(topic)
        self._request_timeout_ms = request_timeout_ms
        self._linger_ms = linger_ms
        self._retry_seconds = retry_seconds
        self._max_retry_seconds = max_retry_seconds
        self._queue: asyncio.Queue[tuple[PaymentStatusChanged, str]] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._producer: Any = None

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def start(self) -> None:
        """Returns at once; connecting happens in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="merch-payment-events-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), timeout=self._request_timeout_ms / 1000)
            except (TimeoutError, KafkaError, OSError) as exc:
                log.warning("kafka_producer_stop_failed", error=repr(exc))
        if not self._queue.empty():
            log.warning("payment_events_not_published", count=self._queue.qsize())

    async def publish(self, event: PaymentStatusChanged, correlation_id: str) -> None:
        try:
            self._queue.put_nowait((event, correlation_id))
        except asyncio.QueueFull:
            log.error(
                "payment_event_dropped",
                reason="queue_full",
                payment_id=event.payment_id,
                status=event.status.value,
            )

    async def _run(self) -> None:
        self._producer = await self._connect()
        while True:
            event, correlation_id = await self._queue.get()
            await self._send(event, correlation_id)

    async def _connect(self) -> Any:
        attempt = 0
        delay = self._retry_seconds
        while True:
            attempt += 1
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                linger_ms=self._linger_ms,
                request_timeout_ms=self._request_timeout_ms,
                acks=1,
                **self._auth_options,
            )
            try:
                await producer.start()
            except (KafkaError, OSError) as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                log.warning(
                    "kafka_unavailable",
                    bootstrap_servers=self._bootstrap_servers,
                    attempt=attempt,
                    retry_in_seconds=delay,
                    error=repr(exc),
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_retry_seconds)
                continue
            log.info("kafka_producer_connected", bootstrap_servers=self._bootstrap_servers)
            return producer

    async def _send(self, event: PaymentStatusChanged, correlation_id: str) -> None:
        fields = {"payment_id": event.payment_id, "status": event.status.value}
        try:
            # `send` only enqueues into the producer's batch (order per key is kept);
            # delivery is confirmed, or fails, in the callback.
            delivery = await self._producer.send(
                self._ring.current(),
                value=event.model_dump_json().encode(),
                key=event.payment_id.encode(),
                headers=[(CORRELATION_ID, correlation_id.encode())],
            )
        except (KafkaError, OSError) as exc:
            log.error("payment_event_publish_failed", error=repr(exc), **fields)
            return

        def _delivered(future: asyncio.Future[Any]) -> None:
            if future.cancelled():
                log.error("payment_event_publish_failed", error="cancelled", **fields)
            elif future.exception() is not None:
                log.error("payment_event_publish_failed", error=repr(future.exception()), **fields)
            else:
                log.debug("payment_event_published", **fields)

        delivery.add_done_callback(_delivered)
