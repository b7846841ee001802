"""Liveness and readiness (both listeners); metrics and the round-trip probe (internal only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from ingress.dependencies import DatabaseDep, GatewayDep, ReadinessDep, SettingsDep
from ingress.health import run_checks
from ingress.probe import probe_round_trip

router = APIRouter(tags=["operations"])
internal_router = APIRouter(tags=["operations"])


class ProbeAnswer(BaseModel):
    worker: str
    round_trip_ms: float


@router.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health")
async def health(
    gateway: GatewayDep, database: DatabaseDep, settings: SettingsDep, readiness: ReadinessDep
) -> JSONResponse:
    async def processors() -> None:
        await probe_round_trip(gateway, timeout_s=settings.probe_timeout_s)

    async def broker() -> None:
        await gateway.check(timeout_s=1.5)

    ready, checks = await readiness.get(
        lambda: run_checks({"broker": broker, "database": database.check, "processors": processors})
    )
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@internal_router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@internal_router.post("/internal/v1/probe", response_model=ProbeAnswer)
async def probe(gateway: GatewayDep, settings: SettingsDep) -> ProbeAnswer:
    result, elapsed_ms = await probe_round_trip(gateway, timeout_s=settings.probe_timeout_s)
    return ProbeAnswer(worker=result.worker, round_trip_ms=round(elapsed_ms, 2))
