"""Fake client-notify: pushes to the driver's app, kept (and journaled), never delivered."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from sandbox.context import SandboxDep
from sandbox.peer_models.client_notify import Push, PushAnswer

router = APIRouter(prefix="/v2")


@router.post("/push")
async def push(body: Push, sandbox: SandboxDep) -> PushAnswer:
    notification_id = str(uuid.uuid4())
    sandbox.world.pushes.append({"notification_id": notification_id, **body.model_dump()})
    return PushAnswer(notification_id=notification_id)
