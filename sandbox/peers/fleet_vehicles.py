"""Fake fleet-vehicles: a car's permit number by `<park_id>_<car_id>`.

`projection` is accepted and ignored: `data` always holds `permit_num` (when known).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.context import SandboxDep

router = APIRouter(prefix="/v1/vehicles")


class RetrieveVehicles(BaseModel):
    id_in_set: list[str]
    projection: list[str] = Field(default_factory=list)


@router.post("/retrieve")
async def retrieve(body: RetrieveVehicles, sandbox: SandboxDep) -> dict[str, Any]:
    vehicles = []
    for park_id_car_id in body.id_in_set:
        if park_id_car_id not in sandbox.world.permits:
            continue
        permit = sandbox.world.permits[park_id_car_id]
        data = {"permit_num": permit} if permit is not None else {}
        vehicles.append({"park_id_car_id": park_id_car_id, "data": data})
    return {"vehicles": vehicles}
