"""Ride events (contract section 4), from `ride-events` or POST /internal/v1/ride-events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.text import printable


class RideEventType(StrEnum):
    RIDE_STARTED = "ride_started"
    RIDE_FINISHED = "ride_finished"
    RIDE_CANCELLED = "ride_cancelled"


class RideEvent(BaseModel):
    event_id: str = printable(1, 64)
    event: RideEventType
    order_id: str = printable(1, 64)
    occurred_at: datetime
    country: str = Field(pattern=r"^[A-Z]{2,3}$")
    park_id: str = printable(1, 64)
    driver_profile_id: str = printable(1, 64)
    # Bounded so a start can never overflow the meter ride's row after the vendor started it.
    price: Decimal | None = Field(default=None, ge=0, le=Decimal(100000), allow_inf_nan=False)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class RideEventBody(RideEvent):
    """Body of `POST /internal/v1/ride-events`: a ride event, no field unknown to it."""

    model_config = ConfigDict(extra="forbid")


class RideEventAccepted(BaseModel):
    event_id: str
