"""fleet-vehicles: cars by `<park_id>_<car_id>`, with the permit number in `data`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrieveVehicles(BaseModel):
    """`POST /v1/vehicles/retrieve`."""

    id_in_set: list[str]
    projection: list[str] = Field(default_factory=list)


class VehicleData(BaseModel):
    permit_num: str | None = None


class Vehicle(BaseModel):
    park_id_car_id: str
    data: VehicleData


class VehiclesAnswer(BaseModel):
    vehicles: list[Vehicle]
