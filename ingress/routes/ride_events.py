"""Ride events over HTTP (contract 2.3)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["ride events"])
