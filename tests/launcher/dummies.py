"""Dummy children for the launcher tests (see dummy_child.py) and bounded polling."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.eventually import eventually_sync

DUMMY_CHILD = Path(__file__).with_name("dummy_child.py")


def dummy(*args: str) -> list[str]:
    """Command of a dummy child (see dummy_child.py)."""
    return [sys.executable, str(DUMMY_CHILD), *args]


def dummy_commands() -> dict[str, Any]:
    """StackConfig command fields that run dummies instead of the real processes."""
    return {
        "ingress_command": dummy("INGRESS_PORT"),
        "worker_command": dummy("WORKER_WEB_PORT"),
        "sandbox_command": dummy("SANDBOX_PORT"),
    }


def wait_until(condition: Callable[[], object], timeout: float, what: str = "condition") -> None:
    eventually_sync(condition, timeout=timeout, interval=0.05, what=what)
