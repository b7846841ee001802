"""Fake personal: the personal-data store; an identity document number by its pd id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.context import SandboxDep
from sandbox.errors import PeerError

router = APIRouter(prefix="/v1/identifications")


class RetrieveIdentification(BaseModel):
    id: str = Field(min_length=1)


@router.post("/retrieve")
async def retrieve(body: RetrieveIdentification, sandbox: SandboxDep) -> dict[str, Any]:
    value = sandbox.world.personal.get(body.id)
    if value is None:
        raise PeerError(404, "not_found", "no identification with this id")
    return {"id": body.id, "value": value}
