"""Ride events (contract section 4), from `ride-events` or POST /internal/v1/ride-events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field


class RideEventType(StrEnum):
    RIDE_STARTED = "ride_started"
    RIDE_FINISHED = "ride_finished"
    RIDE_CANCELLED = "ride_cancelled"


class RideEvent(BaseModel):
    event_id: str = Field(min_length=1, max_length=128)
    event: RideEventType
    order_id: str = Field(min_length=1, max_length=128)
    occurred_at: datetime
    country: str = Field(min_length=2, max_length=3)
    park_id: str = Field(min_length=1, max_length=128)
    driver_profile_id: str = Field(min_length=1, max_length=128)
    price: Decimal | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class RideEventAccepted(BaseModel):
    event_id: str
