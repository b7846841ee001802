"""The Faust application of the processors and the resources its agents share.

Resources (database pool, HTTP client, reply producer) are opened when the
worker starts, before any agent consumes, and closed when it stops; importing
this module opens nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import faust
import httpx
import structlog

from messaging.broker_features import broker_features
from messaging.consumer_groups import PROCESSORS_GROUP
from messaging.headers import header_items
from messaging.rotation import TopicRotation
from processors import kafka_transport
from processors.delivery import Delivery, Incoming
from processors.http_client import build_http_client, build_session
from processors.settings import WorkerSettings

log = structlog.get_logger(__name__)

APP_ID = PROCESSORS_GROUP

Hook = Callable[["Resources"], Awaitable[None]]


async def keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset hook: nothing to do.

    asyncpg takes `reset=None` to mean its default reset query (advisory unlocks,
    CLOSE ALL, UNLISTEN, RESET ALL: a round trip per release); with a hook it only
    rolls back a transaction left open, then calls the hook.
    """


class Resources:
    """What agents share in one worker; `open` and `close` follow the worker's life."""

    def __init__(self, settings: WorkerSettings, app: faust.App) -> None:
        self.settings = settings
        self._app = app
        self._pool: asyncpg.Pool | None = None
        self._http: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._delivery: Delivery | None = None
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
        if self._pool is None:
            raise RuntimeError("the database pool is opened when the worker starts")
        return self._pool

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("the HTTP client is opened when the worker starts")
        return self._http

    @property
    def session(self) -> aiohttp.ClientSession:
        """A plain aiohttp session, for the hottest peer call (the payments service)."""
        if self._session is None:
            raise RuntimeError("the HTTP session is opened when the worker starts")
        return self._session

    @property
    def delivery(self) -> Delivery:
        if self._delivery is None:
            self._delivery = Delivery(self._app.producer)
        return self._delivery

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.settings.database_url,
            min_size=1,
            max_size=self.settings.database_pool_size,
            command_timeout=5,
            # Handlers hold a connection for a whole unit of work and leave no
            # session state behind; the per-release reset query is pure cost.
            reset=keep_session,
        )
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
        if self._http is not None:
            await self._http.aclose()
        if self._session is not None:
            await self._session.close()
        if self._pool is not None:
            await self._pool.close()


class ProcessorApp(faust.App):
    resources: Resources

    async def on_start(self) -> None:
        await self.resources.open()
        await super().on_start()

    async def on_stop(self) -> None:
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
        web_port=settings.worker_web_port,
        web_in_thread=False,
        producer_linger_ms=0,
        producer_acks=-1,  # all in-sync replicas (kafka_transport.DurableProducer)
        broker_client_id=settings.worker_id,
    )
    app.resources = Resources(settings, app)
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


settings = WorkerSettings()
app = create_app(settings)
rotation = TopicRotation(settings.kafka_topic_rotation_s)


def source_topic(name: str) -> Any:
    """The Faust topic an agent reads `name` from: all its slot topics when it rotates."""
    return app.topic(*rotation.names(name), internal=False)
