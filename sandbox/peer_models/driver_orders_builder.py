"""driver-orders-builder: changes to the driver's order in the Pro app (setcar)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class UpdateLite(BaseModel):
    """`POST /v1/setcar/update-lite`, e.g. `changes: {"is_external_meter_run": true}`."""

    park_id: str = Field(min_length=1)
    driver_profile_id: str = Field(min_length=1)
    order_id: str = Field(min_length=1)
    changes: dict[str, Any]
