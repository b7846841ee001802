"""Fake personal: the personal-data store; an identity document number by its pd id."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.errors import PeerError
from sandbox.peer_models.personal import Identification, RetrieveIdentification

router = APIRouter(prefix="/v1/identifications")


@router.post("/retrieve")
async def retrieve(body: RetrieveIdentification, sandbox: SandboxDep) -> Identification:
    value = sandbox.world.personal.get(body.id)
    if value is None:
        raise PeerError(404, "not_found", "no identification with this id")
    return Identification(id=body.id, value=value)
