"""Dummy children for the launcher tests (see dummy_child.py) and bounded polling."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.05)
