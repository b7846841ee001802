"""A stack of a test module's own, for settings the session stack does not have."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.integration.conftest import RunningStack, start_stack


@contextmanager
def own_stack(run_dir: Path, **options: Any) -> Iterator[RunningStack]:
    """`start_stack(run_dir, **options)`, stopped when the block ends."""
    running = start_stack(run_dir, **options)
    try:
        yield running
    finally:
        running.local.stop()
