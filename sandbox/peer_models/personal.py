"""personal: the personal-data store; a value by its pd id."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetrieveIdentification(BaseModel):
    """`POST /v1/identifications/retrieve`."""

    id: str = Field(min_length=1)


class Identification(BaseModel):
    id: str
    value: str
