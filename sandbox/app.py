"""The sandbox's FastAPI app: every fake peer under its prefix, plus `/_sandbox` control."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from messaging.rotation import TopicRotation
from sandbox import control, faults, latency
from sandbox.context import Sandbox
from sandbox.errors import install_error_handlers
from sandbox.events import KafkaPaymentEventPublisher, PaymentEventPublisher
from sandbox.journal import Journal
from sandbox.logs import AccessLogMiddleware
from sandbox.merch_payments import MerchPayments
from sandbox.peer_calls import PeerCallMiddleware
from sandbox.peers import PEER_ROUTERS
from sandbox.settings import Settings
from sandbox.state import World


def create_app(
    settings: Settings | None = None, publisher: PaymentEventPublisher | None = None
) -> FastAPI:
    """Build the app; without `publisher`, events go to Kafka (opened in the lifespan)."""
    settings = settings or Settings()
    publisher = publisher or KafkaPaymentEventPublisher(
        settings.kafka_bootstrap_servers,
        rotation=TopicRotation(settings.kafka_topic_rotation_s),
        auth=settings.kafka_auth(),
    )
    world = World(settings.sandbox_history_limit)
    sandbox = Sandbox(
        settings=settings,
        world=world,
        journal=Journal(settings.sandbox_journal_limit),
        faults=faults.Faults(),
        latencies=latency.Latencies(random.Random(settings.sandbox_latency_seed)),
        publisher=publisher,
        payments=MerchPayments(world, publisher, settings.sandbox_reject_delay_seconds),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        try:
            yield
        finally:
            sandbox.payments.reset()
            await publisher.stop()

    app = FastAPI(
        title="Sandbox: fake peers",
        description="Fakes of every peer of the system, in memory, with a control API.",
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    install_error_handlers(app)
    for service, router in PEER_ROUTERS.items():
        app.include_router(router, prefix=f"/{service}", tags=[service])
    app.include_router(control.router)
    app.include_router(faults.router)
    app.include_router(latency.router)
    # Added last = outermost: the access log sees the journal's final status too.
    app.add_middleware(PeerCallMiddleware, sandbox=sandbox)
    app.add_middleware(AccessLogMiddleware)
    return app
