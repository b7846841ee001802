"""Configuration of a processor worker, parsed once at start from the environment."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from messaging.broker_features import BrokerName


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
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
    worker_web_host: str = "127.0.0.1"
    worker_web_port: int = 6066
    database_url: str = "postgresql://postgres@127.0.0.1:54329/taxi"
    database_pool_size: int = Field(default=10, ge=1, le=100)
    log_level: str = "INFO"
