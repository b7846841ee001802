"""The sandbox's configuration, read once from the environment (or `.env`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

import local_defaults
from messaging.kafka_auth import KafkaSaslSettings


class Settings(KafkaSaslSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    sandbox_host: str = local_defaults.HOST
    sandbox_port: int = Field(default=local_defaults.SANDBOX_PORT, ge=1, le=65535)
    kafka_bootstrap_servers: str = local_defaults.KAFKA_BOOTSTRAP_SERVERS
    # Seconds per slot of the rotated topics (messaging/rotation.py); 0: no rotation.
    # The launcher sets it for its embedded broker; it must be the same in every process.
    kafka_topic_rotation_s: float = Field(default=0.0, ge=0, le=3600)
    monitex_api_key: str = local_defaults.MONITEX_API_KEY
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    # An injected `timeout` fault hangs this long before answering 504, so the
    # caller's own timeout fires first.
    sandbox_fault_timeout_seconds: float = Field(default=30.0, ge=0)
    # An injected `slow` fault without its own `delay_ms` delays the answer this long,
    # then serves normally.
    sandbox_fault_slow_seconds: float = Field(default=1.5, ge=0)
    # Seeds the random waits of `/_sandbox/latency`, so a run can be repeated; unset: random.
    sandbox_latency_seed: int | None = None
    # The journal keeps this many latest calls (older ones are dropped).
    sandbox_journal_limit: int = Field(default=20_000, ge=1)
    # Payments and ledger entries per driver remembered; older ones are forgotten, so that
    # a long benchmark levels off (~200 MB at these defaults) instead of growing.
    sandbox_history_limit: int = Field(default=50_000, ge=1000)
    # A driver whose acceptance mode is `reject` declines this long after the
    # payment was created (0: declined in the create answer itself).
    sandbox_reject_delay_seconds: float = Field(default=0.5, ge=0)
