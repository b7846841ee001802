"""How a Kafka client proves who it is: SASL (SCRAM or PLAIN) over plaintext, or nothing.

Every Kafka client of the system (ingress, workers, the sandbox's event publisher, the
operator tools, the launcher) reads `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME` and
`KAFKA_SASL_PASSWORD`; with no mechanism it connects without authenticating (Tansu, or a
Kafka without security). Each process runs as its own principal, so the broker's ACLs can
say what each may read and write (launcher/kafka_security.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings

SaslMechanism = Literal["", "SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")


@dataclass(frozen=True)
class KafkaAuth:
    """A client's SASL identity; `mechanism` empty: no authentication."""

    mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.mechanism and self.mechanism not in MECHANISMS:
            raise ValueError(f"KAFKA_SASL_MECHANISM must be one of {MECHANISMS}")
        if self.mechanism and not (self.username and self.password):
            raise ValueError(
                "KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )

    @property
    def enabled(self) -> bool:
        return bool(self.mechanism)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> KafkaAuth:
        return cls(
            mechanism=environ.get("KAFKA_SASL_MECHANISM", ""),
            username=environ.get("KAFKA_SASL_USERNAME", ""),
            password=environ.get("KAFKA_SASL_PASSWORD", ""),
        )

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of aiokafka's producer, consumer and admin client."""
        if not self.enabled:
            return {}
        return {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }

    def env(self) -> dict[str, str]:
        """The variables that give a child process this identity."""
        return {
            "KAFKA_SASL_MECHANISM": self.mechanism,
            "KAFKA_SASL_USERNAME": self.username,
            "KAFKA_SASL_PASSWORD": self.password,
        }


class KafkaSaslSettings(BaseSettings):
    """The three SASL variables, for the settings class of each process."""

    kafka_sasl_mechanism: SaslMechanism = ""
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")

    @model_validator(mode="after")
    def _complete_identity(self) -> KafkaSaslSettings:
        self.kafka_auth()  # raises ValueError (a validation error) when incomplete
        return self

    def kafka_auth(self) -> KafkaAuth:
        return KafkaAuth(
            self.kafka_sasl_mechanism,
            self.kafka_sasl_username,
            self.kafka_sasl_password.get_secret_value(),
        )
