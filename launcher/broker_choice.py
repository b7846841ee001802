"""Which broker the local run starts (`BROKER`), and the engine that runs it.

`kafka`: Apache Kafka in KRaft mode from its Maven Central jars (launcher/kafka_broker.py).
`tansu`: the embedded memory-only broker (launcher/broker.py), for machines without a JDK.
Unset: Kafka where a JDK 17+ is present, else Tansu. Only Tansu needs the slot topics,
truncation and janitor of messaging/rotation.py; `rotates` is the one place that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from launcher.broker import EmbeddedBroker
from launcher.kafka_broker import KafkaBroker
from launcher.kafka_jars import MIN_JAVA, Jdk, find_jdk
from launcher.logs import Log
from launcher.supervisor import ChildSpec

BROKERS = ("kafka", "tansu")
# How long a fetch may wait for data, per broker, unless KAFKA_FETCH_MAX_WAIT_MS is set.
# Tansu holds every fetch for its full wait (each hop costs it). Kafka answers as soon as
# data is there, but aiokafka sends one fetch per broker at a time and leaves out of it
# the partitions whose records the application has not consumed yet: those wait for the
# fetch in flight, up to its whole wait. At 500 ms that stalled authorize at c=128 in
# 0.7 s cycles (314 rps, p99 756 ms); at 20 ms 541 rps, p99 390 ms, for some idle polls.
FETCH_WAIT_MS = {"kafka": 20, "tansu": 15}


class BrokerEngine(Protocol):
    name: str
    keeps_data: bool
    rotates: bool
    host: str
    port: int

    @property
    def bootstrap_servers(self) -> str: ...

    async def prepare(self) -> None: ...

    def child_spec(self, stop_grace: float = ...) -> ChildSpec: ...


class BrokerChoiceError(ValueError):
    """BROKER names no broker, or one this machine cannot run."""


@dataclass(frozen=True)
class BrokerChoice:
    name: str
    reason: str
    jdk: Jdk | None = None


def choose_broker(environ: Mapping[str, str]) -> BrokerChoice:
    """BROKER when set (checked), else Kafka where a JDK 17+ is present, else Tansu."""
    wanted = (environ.get("BROKER") or "").strip().lower()
    if wanted and wanted not in BROKERS:
        raise BrokerChoiceError(f"BROKER must be one of {', '.join(BROKERS)}, got {wanted!r}")
    if wanted == "tansu":
        return BrokerChoice("tansu", "BROKER=tansu")
    jdk = find_jdk(dict(environ))
    usable = jdk is not None and jdk.major >= MIN_JAVA
    if wanted == "kafka":
        if not usable:
            raise BrokerChoiceError(f"BROKER=kafka needs a JDK {MIN_JAVA}+: {_no_jdk(jdk)}")
        return BrokerChoice("kafka", "BROKER=kafka", jdk)
    if usable:
        assert jdk is not None
        return BrokerChoice("kafka", f"BROKER not set and Java {jdk.version} is present", jdk)
    return BrokerChoice("tansu", f"BROKER not set and {_no_jdk(jdk)}")


def _no_jdk(jdk: Jdk | None) -> str:
    if jdk is None:
        return "no Java found (JAVA_HOME, PATH)"
    return f"Java {jdk.version} is older than {MIN_JAVA}"


def build_engine(
    name: str,
    *,
    host: str,
    port: int,
    controller_port: int,
    run_dir: Path,
    log: Log,
    min_insync_replicas: int = 1,
    jdk: Jdk | None = None,
    sasl: bool = False,
) -> BrokerEngine:
    if name == "tansu":
        if sasl:
            raise BrokerChoiceError("KAFKA_SECURITY=sasl needs BROKER=kafka: Tansu has no SASL")
        return EmbeddedBroker(host, port)
    jdk = jdk or find_jdk()
    if jdk is None or jdk.major < MIN_JAVA:
        raise BrokerChoiceError(f"the Kafka broker needs a JDK {MIN_JAVA}+: {_no_jdk(jdk)}")
    return KafkaBroker(
        host,
        port,
        controller_port,
        run_dir,
        jdk,
        log,
        min_insync_replicas=min_insync_replicas,
        sasl=sasl,
    )
