"""Smart taximeters: the finish-ride request on `meter-requests` and the Pro app's HTTP bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from schemas.text import ID_PATTERN, printable

# The contract shows prices as JSON numbers (`"price": 52.3`); inside the system
# (Kafka messages, the database) they stay exact decimals.
JsonNumberPrice = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class FinishRideBody(BaseModel):
    """Body of `POST /driver/v1/meters-integration-api/finish-ride` (our price)."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = printable(1, 128)
    price: Decimal = Field(ge=0, le=Decimal("1000000"))


class FinishRideRequest(BaseModel):
    """Value of `meter-requests`, keyed by `order_id`: the app's finish, with the caller."""

    order_id: str = printable(1, 128)
    price: Decimal = Field(ge=0)
    park_id: str = Field(pattern=ID_PATTERN)
    driver_profile_id: str = Field(pattern=ID_PATTERN)


class FinishRideAnswer(BaseModel):
    """200 of the finish: the final price the physical meter showed."""

    order_id: str
    price: JsonNumberPrice
    currency: str
    meter_ride_id: str
