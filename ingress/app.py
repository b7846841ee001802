"""The ingress's two FastAPI applications (contract 2), sharing one gateway and database.

* the **partner** app: the partner routes, /ping, /health and its own OpenAPI;
* the **internal** app: the driver route, ride events, the probe, /metrics, /ping,
  /health and its own OpenAPI.

A route exists on one of them only (asked on the other: 404 `not_found`). Both sit
behind the same admission control: the body limit, and one in-flight counter for
the instance. The resources are opened by `IngressApps.running()`, once for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, FastAPI

from ingress.admission import (
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    InFlight,
    InFlightLimitMiddleware,
)
from ingress.database import Database
from ingress.errors import install_error_handlers
from ingress.health import CachedReadiness
from ingress.kafka_gateway import KafkaGateway
from ingress.partners import load_partner_config
from ingress.request_context import RequestContextMiddleware
from ingress.routes import driver_meters, mobi, operations, ride_events
from ingress.services import load_service_keys
from ingress.settings import IngressSettings
from messaging.broker_features import broker_features
from messaging.rotation import TopicRotation

log = structlog.get_logger(__name__)

VERSION = "0.2.0"


@dataclass
class IngressApps:
    partner: FastAPI
    internal: FastAPI
    gateway: KafkaGateway
    database: Database
    settings: IngressSettings

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The shared resources, open while both listeners serve."""
        await self.database.start()
        # The reply consumer is assigned before the apps serve: no reply can be missed.
        await self.gateway.start()
        log.info(
            "ingress_ready",
            instance=self.settings.ingress_instance_id,
            reply_topic=self.gateway.reply_topic,
            port=self.settings.ingress_port,
            internal_port=self.settings.ingress_internal_port,
        )
        try:
            yield
        finally:
            await self.gateway.stop()
            await self.database.stop()


def create_apps(
    settings: IngressSettings, partner_routers: list[APIRouter] | None = None
) -> IngressApps:
    gateway = KafkaGateway(
        settings.kafka_bootstrap_servers,
        settings.ingress_instance_id,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        send_timeout_s=settings.kafka_send_timeout_s,
        rotation=TopicRotation(settings.kafka_topic_rotation_s),
        features=broker_features(settings.broker),
        replication_factor=settings.kafka_replication_factor,
        auth=settings.kafka_auth(),
    )
    database = Database(settings.database_url, settings.database_timeout_s)
    in_flight = InFlight(settings.ingress_max_in_flight)
    readiness = CachedReadiness()
    # Parsed before serving: a bad PARTNER_KEYS or INTERNAL_KEYS stops the process here.
    partner_config = load_partner_config(settings)
    service_keys = load_service_keys(settings)

    def app(title: str, description: str, routers: list[APIRouter]) -> FastAPI:
        application = FastAPI(title=title, version=VERSION, description=description)
        application.state.settings = settings
        application.state.gateway = gateway
        application.state.database = database
        application.state.partner_config = partner_config
        application.state.service_keys = service_keys
        application.state.readiness = readiness
        install_error_handlers(application)
        # Outermost last: the access log sees every answer, the body limit comes
        # before anything reads the body, the in-flight cap before any work.
        application.add_middleware(InFlightLimitMiddleware, in_flight=in_flight)
        application.add_middleware(BodyLimitMiddleware)
        application.add_middleware(HeaderLimitMiddleware)
        application.add_middleware(RequestContextMiddleware)
        for router in routers:
            application.include_router(router)
        return application

    partner = app(
        "Taxi integrations: partner API",
        "Merchant payments for processing centres (Mobi).",
        [operations.router, mobi.router, *(partner_routers or [])],
    )
    internal = app(
        "Taxi integrations: internal API",
        "The driver app's meter finish (through the driver-authorization gateway), ride"
        " events from order systems, the round-trip probe and metrics.",
        [operations.router, operations.internal_router, driver_meters.router, ride_events.router],
    )
    return IngressApps(partner, internal, gateway, database, settings)


def create_app(settings: IngressSettings, routers: list[APIRouter] | None = None) -> FastAPI:
    """The partner application alone (partner adapters' tests; `routers` are partner routes)."""
    return create_apps(settings, routers).partner
