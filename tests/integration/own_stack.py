"""A stack of a test module's own, for settings the session stack does not have."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningStack, start_stack


@contextmanager
def own_stack(run_dir: Path, **options: Any) -> Iterator[RunningStack]:
    """`start_stack(run_dir, **options)`, stopped when the block ends."""
    running = start_stack(run_dir, **options)
    try:
        yield running
    finally:
        running.local.stop()


def skip_against_containers(request: pytest.FixtureRequest, why: str) -> None:
    """A stack of a module's own runs the embedded broker and database: not in the
    container run (`--containers`), which covers the session stack."""
    if request.config.getoption("--containers"):
        pytest.skip(why)
