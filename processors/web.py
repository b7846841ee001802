"""The worker's own HTTP endpoints: /ping, /health and /metrics (Faust's web server)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from processors.app import ProcessorApp


def register_pages(app: ProcessorApp) -> None:
    @app.page("/ping")
    class Ping(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    @app.page("/health")
    class Health(View):
        async def get(self, request: Request) -> Response:
            checks = {"database": await _database_check(app), "broker": _consumer_check(app)}
            ready = all(check["ok"] for check in checks.values())
            return self.json(
                {"status": "ok" if ready else "unavailable", "checks": checks},
                status=200 if ready else 503,
            )

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])


async def _database_check(app: ProcessorApp) -> dict[str, Any]:
    try:
        async with asyncio.timeout(1.0):
            await app.resources.pool.fetchval("SELECT 1")
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _consumer_check(app: faust.App) -> dict[str, Any]:
    try:
        assigned = len(app.consumer.assignment())
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "assigned_partitions": assigned}
