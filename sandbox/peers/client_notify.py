"""Fake client-notify: pushes to the driver's app, kept (and journaled), never delivered."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.context import SandboxDep

router = APIRouter(prefix="/v2")


class Push(BaseModel):
    service: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    intent: str = Field(min_length=1)
    notification: dict[str, Any]


@router.post("/push")
async def push(body: Push, sandbox: SandboxDep) -> dict[str, Any]:
    notification_id = str(uuid.uuid4())
    sandbox.world.pushes.append({"notification_id": notification_id, **body.model_dump()})
    return {"notification_id": notification_id}
