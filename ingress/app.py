"""The ingress FastAPI application: resources in the lifespan, routers, error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI

from ingress.database import Database
from ingress.errors import install_error_handlers
from ingress.kafka_gateway import KafkaGateway
from ingress.partners import load_partner_config
from ingress.request_context import RequestContextMiddleware
from ingress.routes import driver_meters, mobi, operations, ride_events
from ingress.settings import IngressSettings
from messaging.broker_features import broker_features
from messaging.rotation import TopicRotation

log = structlog.get_logger(__name__)


def create_app(settings: IngressSettings, routers: list[APIRouter] | None = None) -> FastAPI:
    gateway = KafkaGateway(
        settings.kafka_bootstrap_servers,
        settings.ingress_instance_id,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        send_timeout_s=settings.kafka_send_timeout_s,
        rotation=TopicRotation(settings.kafka_topic_rotation_s),
        features=broker_features(settings.broker),
        replication_factor=settings.kafka_replication_factor,
    )
    database = Database(settings.database_url, settings.database_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await database.start()
        # The reply consumer is assigned before the app serves: no reply can be missed.
        await gateway.start()
        log.info(
            "ingress_ready",
            instance=settings.ingress_instance_id,
            reply_topic=gateway.reply_topic,
            port=settings.ingress_port,
        )
        try:
            yield
        finally:
            await gateway.stop()
            await database.stop()

    app = FastAPI(
        title="Taxi integrations ingress",
        version="0.1.0",
        description="Merchant payments (Mobi) and smart taximeters (Monitex).",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Parsed before serving: a bad PARTNER_KEYS stops the process here.
    app.state.partner_config = load_partner_config(settings)
    app.state.gateway = gateway
    app.state.database = database
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    for router in (operations.router, mobi.router, driver_meters.router, ride_events.router):
        app.include_router(router)
    for router in routers or []:
        app.include_router(router)
    return app
