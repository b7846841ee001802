"""The Faust application of the processors and the resources its agents share.

Resources (database pool, HTTP client, reply producer) are opened when the
worker starts, before any agent consumes, and closed when it stops; importing
this module opens nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
import asyncpg
import faust
import httpx
import structlog

from messaging.broker_features import broker_features
from messaging.consumer_groups import PROCESSORS_GROUP
from messaging.headers import header_items
from messaging.rotation import TopicRotation
from observability.peer_journal import PeerJournalWriter
from processors import kafka_transport
from processors.change_cause import apply_change_cause
from processors.database_pool import open_pool
from processors.delivery import Delivery, Handler, Incoming
from processors.http_client import build_http_client, build_session
from processors.keyed_concurrency import KeyedConcurrency
from processors.settings import WorkerSettings, parse_settings
from processors.tableless import TablelessManager

log = structlog.get_logger(__name__)

APP_ID = PROCESSORS_GROUP

Hook = Callable[["Resources"], Awaitable[None]]


Opened = TypeVar("Opened")


def _opened(resource: Opened | None, what: str) -> Opened:
    if resource is None:
        raise RuntimeError(f"{what} is opened when the worker starts")
    return resource


class Resources:
    """What agents share in one worker; `open` and `close` follow the worker's life."""

    def __init__(self, settings: WorkerSettings, app: faust.App) -> None:
        self.settings = settings
        self._app = app
        self._pool: asyncpg.Pool | None = None
        self._http: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: Delivery | None = None
        self._journal: PeerJournalWriter | None = None
        self._on_open: list[Hook] = []
        self._on_close: list[Hook] = []

    def on_open(self, hook: Hook) -> Hook:
        """Register a coroutine to run once the shared resources are open."""
        self._on_open.append(hook)
        return hook

    def on_close(self, hook: Hook) -> Hook:
        self._on_close.append(hook)
        return hook

    @property
    def pool(self) -> asyncpg.Pool:
        return _opened(self._pool, "the database pool")

    @property
    def http(self) -> httpx.AsyncClient:
        return _opened(self._http, "the HTTP client")

    @property
    def session(self) -> aiohttp.ClientSession:
        """A plain aiohttp session, for the hottest peer call (the payments service)."""
        return _opened(self._session, "the HTTP session")

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            self._delivery = Delivery(self._app.producer)
        return self._delivery

    async def open(self) -> None:
        # payment_history's cause is set on each connection it hands out.
        self._pool = await open_pool(self.settings, setup=apply_change_cause)
        self._journal = PeerJournalWriter(self._pool)
        self._journal.start()
        self._http = build_http_client()
        self._session = build_session()
        for hook in self._on_open:
            await hook(self)
        log.info("worker_resources_open", worker=self.settings.worker_id)

    async def close(self) -> None:
        for hook in reversed(self._on_close):
            try:
                await hook(self)
            except Exception:
                log.exception("close_hook_failed")
        if self._journal is not None:
            await self._journal.stop()
        if self._http is not None:
            await self._http.aclose()
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            await self._pool.close()


class ProcessorApp(faust.App):
    resources: Resources
    # Every agent's messages go through it; the consumer asks it where to commit
    # (`commit_points`, see processors/kafka_transport.py).
    in_flight: KeyedConcurrency

    @property
    def commit_points(self) -> KeyedConcurrency:
        return self.in_flight

    async def on_start(self) -> None:
        await self.resources.open()
        await super().on_start()

    async def on_stop(self) -> None:
        # Before the consumer's last commit and while the producer can still reply.
        await self.in_flight.close(self.resources.settings.worker_shutdown_grace_s)
        await super().on_stop()
        await self.resources.close()


def create_app(settings: WorkerSettings) -> ProcessorApp:
    features = broker_features(settings.broker)
    app = ProcessorApp(
        APP_ID,
        broker=kafka_transport.broker_urls(
            settings.kafka_bootstrap_servers,
            settings.kafka_fetch_max_wait_ms,
            idempotent=features.idempotent_producer,
        ),
        # Static membership: a restarted worker (same WORKER_ID) takes its partitions back
        # at once instead of after the session timeout.
        consumer_group_instance_id=settings.worker_id if features.static_membership else None,
        # SASL identity of the processors (KAFKA_SASL_*); None: no authentication.
        broker_credentials=kafka_transport.credentials(settings.kafka_auth()),
        value_serializer="raw",
        key_serializer="raw",
        # Topics come from topics.yaml and are created by the launcher (or compose).
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=1.0,
        broker_request_timeout=max(30.0, settings.kafka_session_timeout_s + 5),
        broker_rebalance_timeout=30.0,
        stream_wait_empty=False,
        web_enabled=True,
        web_host=settings.worker_web_host,
        # Faust binds `web_bind` (default 0.0.0.0), not `web_host`: bind what the setting says.
        web_bind=settings.worker_web_host,
        web_port=settings.worker_web_port,
        web_in_thread=False,
        producer_linger_ms=0,
        producer_acks=-1,  # all in-sync replicas (kafka_transport.DurableProducer)
        broker_client_id=settings.worker_id,
        TableManager=TablelessManager,
    )
    app.resources = Resources(settings, app)
    app.in_flight = KeyedConcurrency(
        settings.worker_max_in_flight, settings.worker_max_in_flight_per_partition
    )

    def forget_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: set[Any] = args[0]
        app.in_flight.forget(revoked)

    app.on_partitions_revoked.connect(forget_revoked)

    return app


def incoming_from_event(event: Any) -> Incoming:
    """Faust's event as our `Incoming` record (keeps handlers free of Faust types)."""
    message = event.message
    return Incoming(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value if message.value is not None else b"",
        headers=list(header_items(message.headers)),
    )


async def consume(app: ProcessorApp, stream: Any, handler: Handler) -> None:
    """An agent's loop: each message through `Delivery`, concurrently by key.

    The stream does not ack by itself; a message is acked when its work has ended, and
    the commit goes no further than the lowest message not finished.
    """
    async for event in stream.noack().events():
        message = event.message
        await app.in_flight.submit(
            message.tp,
            message.offset,
            message.key,
            _delivered(app, event, handler),
            on_finished=event.ack,
            # A message taken before a rebalance is left to the partition's next owner.
            still_ours=_same_generation(app, message.generation_id),
        )


def _delivered(app: ProcessorApp, event: Any, handler: Handler) -> Callable[[], Awaitable[None]]:
    incoming = incoming_from_event(event)

    async def run() -> None:
        await app.resources.delivery.handle(incoming, handler)

    return run


def _same_generation(app: ProcessorApp, generation_id: int) -> Callable[[], bool]:
    return lambda: bool(generation_id == app.consumer_generation_id)


settings = parse_settings(WorkerSettings, "worker")
app = create_app(settings)
rotation = TopicRotation(settings.kafka_topic_rotation_s)


def source_topic(name: str) -> Any:
    """The Faust topic an agent reads `name` from: all its slot topics when it rotates."""
    return app.topic(*rotation.names(name), internal=False)
