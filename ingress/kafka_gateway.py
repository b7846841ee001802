"""Publishing to Kafka and request/reply over this instance's reply topic.

Each ingress instance owns the topic `replies.<instance id>` (its slot topics too when
topics rotate on the embedded broker, messaging/rotation.py) and reads it by
direct partition assignment (no consumer group, so no rebalance can take it
away and readiness does not wait for a group join). A request carries
`correlation-id` (made here, unique per request, never the caller's) and
`reply-to`; the processor answers on `reply-to`, naming the topic and key of the
request it answers; the reply is matched to the waiting request by correlation
id and checked against that request's topic and key (ingress.replies).

A memory-only broker (Tansu) that dies comes back empty. The launcher then says so
(`broker_lost`, SIGUSR1): the gateway refuses at once, fails every waiting request
(its command may have died with the broker: outcome unknown, 503) and closes its
clients; once the new broker has its topics (`broker_replaced`, SIGUSR2) it opens new
ones, its reply consumer at the new logs' ends. The process keeps serving throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from ingress.replies import PendingReplies
from ingress.request_context import request_id_var
from messaging import headers as h
from messaging.broker_features import BrokerFeatures, broker_features
from messaging.kafka_auth import KafkaAuth
from messaging.rotation import TopicRotation
from messaging.topics import (
    is_declared,
    reply_topic,
    reply_topic_config,
    reply_topic_partitions,
)
from observability.logs import correlation_id_var
from schemas.envelope import Reply

log = structlog.get_logger(__name__)


class BrokerUnavailable(Exception):
    """The broker did not take the message in time; the caller should retry later."""


class BrokerLost(BrokerUnavailable):
    """The broker was lost with its data; the gateway waits to be told of its replacement."""


class ReplyTimeout(Exception):
    """The request was published but no reply came within the wait."""


class KafkaGateway:
    def __init__(
        self,
        bootstrap_servers: str,
        instance_id: str,
        *,
        fetch_max_wait_ms: int = 5,
        send_timeout_s: float = 1.5,
        rotation: TopicRotation | None = None,
        features: BrokerFeatures | None = None,
        replication_factor: int = 1,
        auth: KafkaAuth | None = None,
    ) -> None:
        self._bootstrap = bootstrap_servers
        # SASL identity of this ingress (request topics and its reply topic only).
        self._auth_options = (auth or KafkaAuth()).client_options()
        self._rotation = rotation or TopicRotation()
        self._reply_ring = self._rotation.ring(reply_topic(instance_id))
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._send_timeout_s = send_timeout_s
        self._features = features or broker_features("kafka")
        self._replication_factor = replication_factor
        self.pending = PendingReplies()
        self._sequence = itertools.count(1)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lost = False
        # broker_lost / broker_replaced run one after the other, in the order called.
        self._switch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._open()

    async def stop(self) -> None:
        if self._switch is not None:
            self._switch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._switch
        self.pending.fail_all(ReplyTimeout("ingress is stopping"))
        await self._close()

    def broker_lost(self) -> None:
        """The broker died with every message in it: refuse, fail the waiters, close."""
        self._lost = True
        self.pending.fail_all(BrokerLost("the broker was lost with its data"))
        log.warning("broker_lost", waiting_requests_failed=True)
        self._then(self._close)

    def broker_replaced(self) -> None:
        """A new broker with the topics runs: open new clients (retried until they open)."""
        self._then(self._reopen)

    def _then(self, step: Callable[[], Awaitable[None]]) -> None:
        previous = self._switch

        async def after_previous() -> None:
            if previous is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await previous
            await step()

        self._switch = asyncio.create_task(after_previous(), name="broker-switch")

    async def _reopen(self) -> None:
        await self._close()  # whatever the old broker left, also when not told it was lost
        while True:
            try:
                await self._open()
            except Exception as exc:
                log.warning("broker_reopen_failed", error=f"{type(exc).__name__}: {exc}")
                await self._close()
                await asyncio.sleep(1.0)
                continue
            self._lost = False
            log.info("broker_replaced", reply_topic=self.reply_topic)
            return

    async def _open(self) -> None:
        await self._ensure_reply_topics()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            linger_ms=0,
            # A command taken is on every in-sync replica; where the broker can, a retried
            # send is written once (Tansu cannot: its consumers are idempotent anyway).
            acks="all",
            request_timeout_ms=int(self._send_timeout_s * 1000) + 500,
            enable_idempotence=self._features.idempotent_producer,
            **self._auth_options,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            request_timeout_ms=10_000,
            **self._auth_options,
        )
        await self._consumer.start()
        partitions = [
            TopicPartition(topic, p)
            for topic in self._reply_ring.names
            for p in range(reply_topic_partitions())
        ]
        self._consumer.assign(partitions)
        # Only replies to requests made from now on matter; fix the position
        # before reporting ready so none of them can be skipped.
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:
            await self._consumer.position(partition)
        self._reader = asyncio.create_task(self._read_replies(), name="reply-reader")
        log.info("reply_consumer_assigned", topics=self._reply_ring.names)

    async def _close(self) -> None:
        reader, consumer, producer = self._reader, self._consumer, self._producer
        self._reader, self._consumer, self._producer = None, None, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        # A send still queued fails or, sent later, meets idempotent consumers.
        if consumer is not None:
            with contextlib.suppress(Exception):
                await consumer.stop()
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def publish(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        """Produce one message, or raise BrokerUnavailable within the send timeout."""
        if not is_declared(topic):
            raise ValueError(f"topic {topic!r} is not declared in topics.yaml")
        producer = self._ready_producer()
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await producer.send_and_wait(
                    self._rotation.current(topic),
                    value=value,
                    key=key.encode(),
                    headers=h.encode(headers),
                )
        except Exception as exc:
            # A message still queued inside the client may be delivered later;
            # every consumer of ours is idempotent, so a retry cannot double it.
            raise BrokerUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def request(
        self,
        topic: str,
        key: str,
        value: bytes,
        *,
        timeout_s: float,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Publish a request and wait for its reply; ReplyTimeout after `timeout_s`."""
        # New for every request, so a late reply to an earlier one can never match it;
        # prefixed with the HTTP request's own id, so log lines join across processes.
        http_id = correlation_id_var.get() or uuid.uuid4().hex
        correlation_id = f"{http_id}.{next(self._sequence)}"
        future = self.pending.register(correlation_id, topic, key)
        extra = {h.CORRELATION_ID: correlation_id, h.REPLY_TO: self.reply_topic}
        # For tracing: the caller's X-Request-Id, else the HTTP request's own id.
        request_id = request_id_var.get() or correlation_id_var.get()
        if request_id is not None:
            extra[h.REQUEST_ID] = request_id
        try:
            await self.publish(topic, key, value, {**(headers or {}), **extra})
            try:
                async with asyncio.timeout(timeout_s):
                    return await future
            except TimeoutError as exc:
                raise ReplyTimeout(f"no reply within {timeout_s} s") from exc
        finally:
            self.pending.discard(correlation_id)

    @property
    def durable(self) -> bool:
        """Whether a published message survives the broker's restart (not on Tansu)."""
        return self._features.durable_log

    @property
    def reply_topic(self) -> str:
        """Where replies to a request sent now should go."""
        return self._reply_ring.current()

    async def check(self, timeout_s: float) -> None:
        """Raise unless the broker answers a metadata request within `timeout_s`."""
        producer = self._ready_producer()
        async with asyncio.timeout(timeout_s):
            await producer.client.fetch_all_metadata()

    def _ready_producer(self) -> AIOKafkaProducer:
        if self._lost:
            raise BrokerLost("the broker was lost with its data; waiting for its replacement")
        if self._producer is None:
            raise BrokerUnavailable("producer not started")
        return self._producer

    async def _read_replies(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reply_fetch_failed")
                await asyncio.sleep(0.5)
                continue
            for records in batches.values():
                for record in records:
                    self._deliver(record.headers, record.value)

    def _deliver(self, headers: object, value: bytes | None) -> None:
        named = h.header_map(headers)  # type: ignore[arg-type]
        correlation_id = named.get(h.CORRELATION_ID)
        if correlation_id is None or value is None:
            log.warning("reply_without_correlation_id")
            return
        try:
            reply = Reply.model_validate_json(value)
        except ValueError:
            log.warning("reply_unreadable", correlation_id=correlation_id)
            reply = Reply.failure("invalid_reply", "The processor sent an unreadable reply.")
        answers = (named.get(h.REPLY_FOR_TOPIC), named.get(h.REPLY_FOR_KEY))
        self.pending.resolve(correlation_id, reply, answers)

    async def _ensure_reply_topics(self) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self._bootstrap, request_timeout_ms=5000, **self._auth_options
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [name for name in self._reply_ring.names if name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(
                                name,
                                reply_topic_partitions(),
                                self._replication_factor,
                                topic_configs=dict(reply_topic_config()),
                            )
                            for name in missing
                        ]
                    )
        finally:
            await admin.close()
