"""Suite-wide options: `--containers` runs the integration tests on real Apache Kafka and
PostgreSQL containers (testcontainers; needs Docker) instead of the embedded ones;
`--cluster` adds the three-broker Kafka cluster test."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--containers",
        action="store_true",
        default=False,
        help="run integration tests against Apache Kafka and PostgreSQL containers (Docker)",
    )
    parser.addoption(
        "--cluster",
        action="store_true",
        default=False,
        help="also run the three-broker Kafka cluster test (1.5-3 min, three JVMs)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    """One line saying on which brokers the integration tests run here."""
    from tests.integration.conftest import kafka_unavailable

    reason = kafka_unavailable()
    return reason if reason is not None else "brokers: tansu, and kafka for the Kafka leg"
