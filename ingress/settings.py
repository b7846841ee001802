"""Configuration of an ingress instance, parsed once at start from the environment."""

from __future__ import annotations

import socket

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

import local_defaults
from messaging.broker_features import BrokerName
from messaging.kafka_auth import KafkaSaslSettings
from messaging.rotation import TopicRotation


class IngressSettings(KafkaSaslSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ingress_host: str = local_defaults.HOST
    ingress_port: int = local_defaults.INGRESS_PORT
    # The internal listener (driver route, ride events, probe, metrics): never the partners'.
    ingress_internal_host: str = local_defaults.HOST
    ingress_internal_port: int = local_defaults.INGRESS_INTERNAL_PORT
    # Names this instance's reply topic; keep it stable across restarts.
    ingress_instance_id: str = Field(
        default_factory=lambda: f"ingress-{socket.gethostname()}", pattern=r"^[A-Za-z0-9._-]+$"
    )
    kafka_bootstrap_servers: str = local_defaults.KAFKA_BOOTSTRAP_SERVERS
    # Which broker that is (messaging/broker_features.py); the launcher sets it.
    broker: BrokerName = "kafka"
    # Of the reply topic this instance creates (1 on a single broker).
    kafka_replication_factor: int = Field(default=1, ge=1, le=5)
    kafka_fetch_max_wait_ms: int = Field(default=15, ge=1, le=1000)
    # Producing must fail fast when the broker is away: the contract wants a 503 within 2 s.
    kafka_send_timeout_s: float = Field(default=1.0, gt=0, le=10)
    # Seconds per slot of the rotated topics (messaging/rotation.py); 0: no rotation.
    # The launcher sets it for its embedded broker; it must be the same in every process.
    kafka_topic_rotation_s: float = Field(default=0.0, ge=0, le=3600)
    database_url: str = local_defaults.DATABASE_URL
    database_timeout_s: float = Field(default=1.5, gt=0, le=10)
    probe_timeout_s: float = Field(default=5.0, gt=0)
    # `mobi=<key>[,<partner>=<key>...]`; only digests are kept (ingress.partners).
    partner_keys: str = local_defaults.PARTNER_KEYS
    # Partners whose requests must carry `X-Signature` (comma-separated names).
    partner_signed: str = ""
    # `<service>=<key>[,...]`: callers of the internal listener's service routes.
    internal_keys: str = local_defaults.INTERNAL_KEYS
    # Requests held at once by this instance (both listeners); past it 503 at once.
    ingress_max_in_flight: int = Field(default=2000, ge=1, le=100_000)
    # Requests waiting at once for one payment (same partner and transaction id).
    ingress_max_waiters_per_payment: int = Field(default=32, ge=1, le=1000)
    # How long an authorization is held before the answer is `pending`.
    payment_hold_timeout: float = Field(default=25.0, gt=0, le=120)
    # How long the Pro app's finish-ride call is held before 504 `timeout`.
    finish_ride_timeout: float = Field(default=10.0, gt=0, le=120)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _holds_fit_the_reply_rotation(self) -> IngressSettings:
        # A rotated reply slot is emptied a while after it stops being written; a request
        # held longer than that could miss its reply.
        kept = TopicRotation(self.kafka_topic_rotation_s).reply_kept_s()
        longest = max(self.payment_hold_timeout, self.finish_ride_timeout, self.probe_timeout_s)
        if longest >= kept:
            raise ValueError(
                f"hold timeouts ({longest:g} s) must be shorter than the {kept:g} s replies "
                "are kept with KAFKA_TOPIC_ROTATION_S"
            )
        return self
