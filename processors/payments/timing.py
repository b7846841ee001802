"""The payments use cases' clock and time limits (built from `PaymentSettings`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Timing:
    acceptance_timeout: timedelta
    poll_interval: timedelta
    create_grace: timedelta
    lease: timedelta
    poll_batch: int = 100
