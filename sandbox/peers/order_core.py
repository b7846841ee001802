"""Fake order-core: read and write an order's fields, guarded by its revision.

The document: `{"_id", "performer": {"park_id", "driver_profile_id", "car_id"},
"country", "price", "external_meter_ride_id" (once set), ...whatever was `$set`}`;
the revision: `{"order.version": N}`, bumped by every write.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.errors import PeerError
from sandbox.peer_models.order_core import (
    FieldsAnswer,
    GetFields,
    Revision,
    SetFields,
    SetFieldsAnswer,
)
from sandbox.state import Order, World

VERSION = "order.version"

router = APIRouter(prefix="/internal/processing/v1/order-proc")


def revision(order: Order) -> Revision:
    return {VERSION: order.version}


def _find(world: World, order_id: str) -> Order:
    order = world.orders.get(order_id)
    if order is None:
        raise PeerError(404, "order_not_found", f"no order {order_id}")
    return order


def project(document: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Top-level fields asked for (`performer.park_id` gives all of `performer`); all if none."""
    if not fields:
        return dict(document)
    wanted = {field.split(".", 1)[0] for field in fields} | {"_id"}
    return {key: value for key, value in document.items() if key in wanted}


@router.post("/get-fields")
async def get_fields(order_id: str, body: GetFields, sandbox: SandboxDep) -> FieldsAnswer:
    order = _find(sandbox.world, order_id)
    return FieldsAnswer(document=project(order.document, body.fields), revision=revision(order))


@router.post("/set-fields")
async def set_fields(order_id: str, body: SetFields, sandbox: SandboxDep) -> SetFieldsAnswer:
    order = _find(sandbox.world, order_id)
    unsupported = set(body.update) - {"$set"}
    if unsupported:
        raise PeerError(400, "unsupported_update", f"only $set is supported, not {unsupported}")
    if body.revision.get(VERSION) != order.version:
        raise PeerError(
            409,
            "revision_mismatch",
            "the order changed since it was read",
            details={"revision": revision(order)},
        )
    for key, value in body.update.get("$set", {}).items():
        if key != "_id":
            order.document[key] = value
    order.version += 1
    return SetFieldsAnswer(revision=revision(order))
