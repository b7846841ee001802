"""Apache Kafka and PostgreSQL in containers, for `make test-containers` (needs Docker)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
POSTGRES_IMAGE = "postgres:18"


@dataclass(frozen=True)
class ExternalServices:
    bootstrap_servers: str
    database_url: str


def docker_missing_reason() -> str | None:
    """Why containers cannot run here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker client on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    if probe.returncode != 0:
        return "no Docker engine answers (docker info failed)"
    return None


@contextmanager
def running_containers() -> Iterator[ExternalServices]:
    reason = docker_missing_reason()
    if reason is not None:
        pytest.skip(f"--containers: {reason}")
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka,
        PostgresContainer(POSTGRES_IMAGE, dbname="taxi", driver=None) as postgres,
    ):
        yield ExternalServices(
            bootstrap_servers=kafka.get_bootstrap_server(),
            database_url=postgres.get_connection_url(),
        )
