"""FastAPI dependencies: the instance's shared resources (`ingress.resources`), typed
for route signatures.

`async def` on purpose: FastAPI runs a plain `def` dependency in a worker thread,
a thread hand-off per dependency per request.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ingress.database import Database
from ingress.health import CachedReadiness
from ingress.kafka_gateway import KafkaGateway
from ingress.resources import resources_of
from ingress.settings import IngressSettings


async def _gateway(request: Request) -> KafkaGateway:
    return resources_of(request).gateway


async def _database(request: Request) -> Database:
    return resources_of(request).database


async def _settings(request: Request) -> IngressSettings:
    return resources_of(request).settings


async def _readiness(request: Request) -> CachedReadiness:
    return resources_of(request).readiness


GatewayDep = Annotated[KafkaGateway, Depends(_gateway)]
DatabaseDep = Annotated[Database, Depends(_database)]
SettingsDep = Annotated[IngressSettings, Depends(_settings)]
ReadinessDep = Annotated[CachedReadiness, Depends(_readiness)]
