"""The round-trip probe: ingress -> processors -> reply topic."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ProbeRequest(BaseModel):
    sent_at: datetime


class ProbeResult(BaseModel):
    sent_at: datetime
    worker: str
