"""Fake fleet-vehicles: a car's permit number by `<park_id>_<car_id>`.

`projection` is accepted and ignored: `data` always holds `permit_num` (when known).
"""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.peer_models.fleet_vehicles import (
    RetrieveVehicles,
    Vehicle,
    VehicleData,
    VehiclesAnswer,
)

router = APIRouter(prefix="/v1/vehicles")


# A car without a permit has no `permit_num` at all in `data`, not a null.
@router.post("/retrieve", response_model_exclude_none=True)
async def retrieve(body: RetrieveVehicles, sandbox: SandboxDep) -> VehiclesAnswer:
    vehicles = []
    for park_id_car_id in body.id_in_set:
        if park_id_car_id not in sandbox.world.permits:
            continue
        permit = sandbox.world.permits[park_id_car_id]
        vehicles.append(Vehicle(park_id_car_id=park_id_car_id, data=VehicleData(permit_num=permit)))
    return VehiclesAnswer(vehicles=vehicles)
