"""Suite-wide options: `--containers` runs the integration tests on real Apache Kafka and
PostgreSQL containers (testcontainers; needs Docker) instead of the embedded ones."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--containers",
        action="store_true",
        default=False,
        help="run integration tests against Apache Kafka and PostgreSQL containers (Docker)",
    )
