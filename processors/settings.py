"""Configuration of a processor worker, parsed once at start from the environment
(`processors.bootstrap`); the development defaults come from `local_defaults`.
"""

from __future__ import annotations

import socket
from typing import TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

import local_defaults
from messaging.broker_features import BrokerName
from messaging.kafka_auth import KafkaSaslSettings

AnySettings = TypeVar("AnySettings", bound=BaseSettings)


def parse_settings(cls: type[AnySettings], what: str) -> AnySettings:
    """`cls` read from the environment, or SystemExit naming every bad variable.

    The one failure style of the processors' configuration: the process stops at
    start with a message a person can act on, never on the first message.
    """
    try:
        return cls()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SystemExit(f"invalid {what} configuration: {problems}") from None


class KafkaSettings(KafkaSaslSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = local_defaults.KAFKA_BOOTSTRAP_SERVERS
    # Which broker that is (messaging/broker_features.py); the launcher sets it.
    broker: BrokerName = "kafka"
    # Tansu holds every fetch for its full wait, so this is the floor of each hop's latency.
    kafka_fetch_max_wait_ms: int = Field(default=15, ge=1, le=1000)
    # A killed worker's partitions move once its session times out.
    kafka_session_timeout_s: float = Field(default=10.0, ge=3.0, le=60.0)
    # Seconds per slot of the rotated topics (messaging/rotation.py); 0: no rotation.
    # The launcher sets it for its embedded broker; it must be the same in every process.
    kafka_topic_rotation_s: float = Field(default=0.0, ge=0, le=3600)


class WorkerSettings(KafkaSettings):
    worker_id: str = Field(default_factory=lambda: f"worker-{socket.gethostname()}")
    worker_web_host: str = local_defaults.HOST
    worker_web_port: int = local_defaults.WORKER_WEB_PORT
    database_url: str = local_defaults.DATABASE_URL
    database_pool_size: int = Field(default=10, ge=1, le=100)
    # Past these a request is answered 503 `unavailable` instead of waiting (contract: 2 s).
    database_acquire_timeout_s: float = Field(default=1.0, gt=0, le=30)
    database_lock_timeout_ms: int = Field(default=500, ge=1, le=60_000)
    # Work in flight (processors/keyed_concurrency.py): messages taken and not finished.
    # Per partition: enough for the peers' latency times the partition's share of the load;
    # per worker: bounds memory, pool waits and what a kill makes the next owner redo.
    worker_max_in_flight_per_partition: int = Field(default=16, ge=1, le=1000)
    worker_max_in_flight: int = Field(default=128, ge=1, le=10_000)
    # On SIGTERM, how long work in flight may take to finish before it is left to be redone.
    worker_shutdown_grace_s: float = Field(default=5.0, ge=0, le=60)
    log_level: str = "INFO"
