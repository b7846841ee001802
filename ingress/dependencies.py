"""FastAPI dependencies: the process-wide resources, typed for route signatures.

`async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread,
a thread hand-off per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingress.database import Database
from ingress.health import CachedReadiness
from ingress.kafka_gateway import KafkaGateway
from ingress.settings import IngressSettings


async def _gateway(request: Request) -> KafkaGateway:
    gateway: KafkaGateway = request.app.state.gateway
    return gateway


async def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def _settings(request: Request) -> IngressSettings:
    settings: IngressSettings = request.app.state.settings
    return settings


async def _readiness(request: Request) -> CachedReadiness:
    readiness: CachedReadiness = request.app.state.readiness
    return readiness


GatewayDep = Annotated[KafkaGateway, Depends(_gateway)]
DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[IngressSettings, Depends(_settings)]
ReadinessDep = Annotated[CachedReadiness, Depends(_readiness)]
