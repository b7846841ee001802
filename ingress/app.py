"""The ingress's two FastAPI applications (contract 2), sharing one gateway and database.

* the **partner** app: the partner routes, /ping, /health and its own OpenAPI;
* the **internal** app: the driver route, ride events, the probe, /metrics, /ping,
  /health and its own OpenAPI.

A route exists on one of them only (asked on the other: 404 `not_found`). Both sit
behind the same admission control: the body limit, and one in-flight counter for
the instance. They share one set of resources (`ingress.resources`), built by the
composition root (`ingress.bootstrap`) and opened by `IngressApps.running()`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from fastapi import APIRouter, FastAPI

from ingress.admission import BodyLimitMiddleware, HeaderLimitMiddleware, InFlightLimitMiddleware
from ingress.errors import install_error_handlers
from ingress.request_context import RequestContextMiddleware
from ingress.resources import IngressResources
from ingress.routes import driver_meters, mobi, operations, ride_events
from ingress.settings import IngressSettings

log = structlog.get_logger(__name__)

VERSION = "0.2.0"


@dataclass
class IngressApps:
    partner: FastAPI
    internal: FastAPI
    resources: IngressResources

    @property
    def settings(self) -> IngressSettings:
        return self.resources.settings

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The shared resources, open while both listeners serve."""
        gateway, database = self.resources.gateway, self.resources.database
        await database.start()
        # The reply consumer is assigned before the apps serve: no reply can be missed.
        await gateway.start()
        log.info(
            "ingress_ready",
            instance=self.settings.ingress_instance_id,
            reply_topic=gateway.reply_topic,
            port=self.settings.ingress_port,
            internal_port=self.settings.ingress_internal_port,
        )
        try:
            yield
        finally:
            await gateway.stop()
            await database.stop()


def create_apps(
    resources: IngressResources, partner_routers: list[APIRouter] | None = None
) -> IngressApps:
    """Both apps over the one set of resources the composition root built."""

    def app(title: str, description: str, routers: list[APIRouter]) -> FastAPI:
        application = FastAPI(title=title, version=VERSION, description=description)
        application.state.resources = resources
        install_error_handlers(application)
        # Outermost last: the access log sees every answer, the body limit comes
        # before anything reads the body, the in-flight cap before any work.
        application.add_middleware(InFlightLimitMiddleware, in_flight=resources.in_flight)
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
    return IngressApps(partner, internal, resources)
