"""Where the local system listens and what it starts: `StackConfig`, defaults of `make run`."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import local_defaults
from launcher.broker_choice import choose_broker
from launcher.kafka_security import SECURITY_MODES
from launcher.migrate import MIGRATIONS_DIR
from launcher.ports import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN_DIR = PROJECT_ROOT / ".run"
FIRST_WORKER_WEB_PORT = local_defaults.WORKER_WEB_PORT
FIRST_INGRESS_INTERNAL_PORT = local_defaults.INGRESS_INTERNAL_PORT
DEFAULT_TOPIC_ROTATION_S = 10.0


def python_module(module: str) -> tuple[str, ...]:
    """The command that runs `python -m module` with this interpreter."""
    return (sys.executable, "-m", module)


@dataclass
class StackConfig:
    """Where everything listens and what to start. Defaults are those of `make run`."""

    run_dir: Path = DEFAULT_RUN_DIR
    host: str = local_defaults.HOST
    broker_port: int = local_defaults.BROKER_PORT
    # The embedded broker: "kafka" (Apache Kafka, KRaft) or "tansu" (launcher/broker_choice.py).
    broker: str = "tansu"
    broker_reason: str = "the default of StackConfig"  # said at start
    controller_port: int = 9093  # Kafka's KRaft controller listener
    # Of every topic the launcher creates; on the local single node both are 1.
    replication_factor: int = 1
    min_insync_replicas: int = 1
    # "sasl": the embedded Kafka authenticates every client (SCRAM) and applies the ACLs of
    # launcher/kafka_security.py; "none": no security (Tansu has none).
    kafka_security: str = "none"
    postgres_port: int = local_defaults.POSTGRES_PORT
    database: str = local_defaults.DATABASE
    ingress_ports: list[int] = field(default_factory=lambda: [local_defaults.INGRESS_PORT])
    # Each ingress's internal listener; default 8090, 8091, ... (one per ingress).
    ingress_internal_ports: list[int] | None = None
    sandbox_port: int = local_defaults.SANDBOX_PORT
    workers: int = 1
    # Default: 6066, 6067, ... (WORKER_WEB_PORT = 6066 + N - 1)
    worker_web_ports: list[int] | None = None
    # Set to use a broker / database that already runs instead of the embedded ones.
    external_bootstrap_servers: str | None = None
    external_database_url: str | None = None
    start_ingress: bool = True
    start_workers: bool = True
    start_sandbox: bool = True
    ingress_command: Sequence[str] = python_module("ingress")
    worker_command: Sequence[str] = python_module("processors")
    sandbox_command: Sequence[str] = python_module("sandbox")
    # The children's environment: base_env (default: os.environ) + defaults + extra_env.
    base_env: Mapping[str, str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    stop_grace: float = 8.0  # SIGTERM → SIGKILL escalation per child
    create_topics: bool = True
    # Seconds per slot of the rotated topics on the embedded broker (messaging/rotation.py);
    # 0 turns rotation off. Never used with an external broker.
    topic_rotation_s: float = DEFAULT_TOPIC_ROTATION_S
    migrations_dir: Path | None = MIGRATIONS_DIR  # None: apply no migrations
    cwd: Path = PROJECT_ROOT
    output: TextIO | None = None  # where log lines go (default: sys.stdout)

    @property
    def embedded_broker(self) -> bool:
        return self.external_bootstrap_servers is None

    @property
    def embedded_postgres(self) -> bool:
        return self.external_database_url is None

    @property
    def ingress_instances(self) -> list[str]:
        return [f"ingress-{n}" for n in range(1, len(self.ingress_ports) + 1)]

    @property
    def internal_ports(self) -> list[int]:
        if self.ingress_internal_ports is not None:
            if len(self.ingress_internal_ports) != len(self.ingress_ports):
                raise ValueError("ingress_internal_ports needs one port per ingress")
            return list(self.ingress_internal_ports)
        return [FIRST_INGRESS_INTERNAL_PORT + n for n in range(len(self.ingress_ports))]

    @property
    def web_ports(self) -> list[int]:
        if self.worker_web_ports is not None:
            if len(self.worker_web_ports) != self.workers:
                raise ValueError("worker_web_ports needs one port per worker")
            return list(self.worker_web_ports)
        return [FIRST_WORKER_WEB_PORT + n for n in range(self.workers)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StackConfig:
        """The `make run` configuration: BROKER, KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, WORKERS,
        KAFKA_REPLICATION_FACTOR, KAFKA_MIN_INSYNC_REPLICAS, KAFKA_SECURITY."""
        raw_workers = environ.get("WORKERS", "1")
        try:
            workers = int(raw_workers)
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(f"WORKERS must be a positive integer, got {raw_workers!r}")
        external_bootstrap_servers = environ.get("KAFKA_BOOTSTRAP_SERVERS") or None
        if external_bootstrap_servers:
            broker, reason = "kafka", "KAFKA_BOOTSTRAP_SERVERS is set"
        else:
            choice = choose_broker(environ)
            broker, reason = choice.name, choice.reason
        security = (environ.get("KAFKA_SECURITY") or "none").strip().lower()
        if security not in SECURITY_MODES:
            raise ValueError(f"KAFKA_SECURITY must be one of {SECURITY_MODES}, got {security!r}")
        if security == "sasl" and broker != "kafka":
            raise ValueError("KAFKA_SECURITY=sasl needs BROKER=kafka: Tansu has no SASL")
        return cls(
            workers=workers,
            kafka_security=security,
            broker=broker,
            broker_reason=reason,
            replication_factor=_positive(environ, "KAFKA_REPLICATION_FACTOR"),
            min_insync_replicas=_positive(environ, "KAFKA_MIN_INSYNC_REPLICAS"),
            external_bootstrap_servers=external_bootstrap_servers,
            external_database_url=environ.get("DATABASE_URL") or None,
            base_env=dict(environ),
        )

    @classmethod
    def for_tests(
        cls, run_dir: Path, *, ingresses: int = 1, workers: int = 1, **overrides: Any
    ) -> StackConfig:
        """Everything on free ports, data in `run_dir`; any field can be overridden."""
        config = cls(
            run_dir=run_dir,
            broker_port=free_port(),
            controller_port=free_port(),
            broker_reason="chosen by the test",
            postgres_port=free_port(),
            ingress_ports=[free_port() for _ in range(ingresses)],
            ingress_internal_ports=[free_port() for _ in range(ingresses)],
            sandbox_port=free_port(),
            workers=workers,
            worker_web_ports=[free_port() for _ in range(workers)],
        )
        return replace(config, **overrides)


def _positive(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name) or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)
