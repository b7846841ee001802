"""Bounded text for every string that is stored or sent on: no NUL or other control
characters (PostgreSQL refuses NUL; logs and peers should never see controls)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

# C0 controls (NUL included), DEL and the C1 controls.
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
# Ids the driver-authorization gateway and order systems use.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def printable(min_length: int = 1, max_length: int = 128, **extra: Any) -> Any:
    """A Field for a printable string of `min_length`..`max_length` characters."""
    return Field(min_length=min_length, max_length=max_length, pattern=PRINTABLE_PATTERN, **extra)
