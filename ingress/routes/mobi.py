"""Mobi partner payments API (contract 2.1)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["partner payments (Mobi)"])
