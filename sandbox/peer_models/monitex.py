"""The Monitex meter API (vendor, `X-Api-Key`): start, finish and cancel a ride."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

RideStatus = Literal["running", "finished", "cancelled"]


class Price(BaseModel):
    """Money as Monitex writes it: the amount a decimal string, e.g. `"48.50"`."""

    amount: Decimal = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


class StartRide(BaseModel):
    """`POST /v0.2/rides`; a repeated `external_id` (our order id) gets the same ride."""

    external_id: str = Field(min_length=1)
    permit_number: str = Field(min_length=1)
    driver_id_number: str = Field(min_length=1)
    price: Price


class FinishRide(BaseModel):
    """`POST /v0.2/rides/{ride_id}/finish` (repeatable)."""

    price: Price


class MoneyAnswer(BaseModel):
    amount: str
    currency: str


class RideAnswer(BaseModel):
    """The answer to start and cancel."""

    ride_id: str
    status: RideStatus


class FinishedRideAnswer(BaseModel):
    ride_id: str
    status: RideStatus
    meter_price: MoneyAnswer
