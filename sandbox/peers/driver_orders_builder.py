"""Fake driver-orders-builder: changes to the driver's order in the Pro app (setcar)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.peer_models.driver_orders_builder import UpdateLite

router = APIRouter(prefix="/v1/setcar")


@router.post("/update-lite")
async def update_lite(body: UpdateLite, sandbox: SandboxDep) -> dict[str, Any]:
    # The latest value of each changed field, per order (read at GET /_sandbox/orders/{id}).
    sandbox.world.setcar.setdefault(body.order_id, {}).update(body.changes)
    return {}
