"""client-notify: pushes to the driver's app."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Push(BaseModel):
    """`POST /v2/push`, e.g. intent `external_meter_failed` for client `<park>-<driver>`."""

    service: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    intent: str = Field(min_length=1)
    notification: dict[str, Any]


class PushAnswer(BaseModel):
    notification_id: str
