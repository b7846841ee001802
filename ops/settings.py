"""Where the operator tools connect: the same environment variables as every process."""

from __future__ import annotations

import getpass

from pydantic import Field
from pydantic_settings import SettingsConfigDict

import local_defaults
from local_defaults import sandbox_peer_url
from messaging.kafka_auth import KafkaSaslSettings


class OpsSettings(KafkaSaslSettings):
    """Defaults are the local run's (`local_defaults`)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    kafka_bootstrap_servers: str = local_defaults.KAFKA_BOOTSTRAP_SERVERS
    database_url: str = local_defaults.DATABASE_URL
    payments_service_url: str = sandbox_peer_url("contractor-merch-payments")
    payments_service_timeout: float = Field(default=3.0, gt=0, le=30)
    # Seconds per slot of the rotated topics on the embedded broker (messaging/rotation.py);
    # unset: found out from the broker (see ops/kafka_io.py).
    kafka_topic_rotation_s: float | None = Field(default=None, ge=0, le=3600)
    # How long a re-drive's send may wait for the broker to store it on every in-sync
    # replica before the command gives up (and records nothing).
    ops_send_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # Who is at the keyboard, for the audit lines of re-drives.
    ops_operator: str = Field(default_factory=getpass.getuser)
