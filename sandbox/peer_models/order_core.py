"""order-core's order-proc API: read an order's fields, write them under its revision."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

Revision = dict[str, int]


class GetFields(BaseModel):
    """`POST .../get-fields?order_id=`: the fields wanted (all of them when empty)."""

    fields: list[str] = Field(default_factory=list)


class FieldsAnswer(BaseModel):
    """The document carries `performer` (`park_id`, `driver_profile_id`, `car_id`),
    `country` and, once set, `external_meter_ride_id`."""

    document: dict[str, Any]
    revision: Revision


class SetFields(BaseModel):
    """`POST .../set-fields?order_id=`: a `$set` applied only at this revision."""

    revision: Revision
    update: dict[str, dict[str, Any]]


class SetFieldsAnswer(BaseModel):
    revision: Revision
