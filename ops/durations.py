"""Durations and points in time as operators type them: `90s`, `15m`, `2h`, `1d`, or RFC 3339."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """argparse type: `15m` -> 15 minutes."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration is a number and s, m, h or d (15m)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def moment(text: str) -> datetime:
    """argparse type: a duration ago (`2h`) or an RFC 3339 time (`2026-11-30T05:00:00Z`)."""
    try:
        return datetime.now(UTC) - duration(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a duration ago (2h) or a time (2026-11-30T05:00:00Z)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
