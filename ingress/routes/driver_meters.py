"""Driver app (Pro) meter endpoints (contract 2.2)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["driver app"])
