"""Which broker the local run takes, and the pinned Kafka version the launcher fetches."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from launcher.broker_choice import BrokerChoiceError, choose_broker
from launcher.config import StackConfig
from launcher.kafka_broker import new_cluster_id
from launcher.kafka_jars import KAFKA_VERSION, POM, find_jdk

HAS_JDK = (jdk := find_jdk()) is not None and jdk.major >= 17


def fake_java(tmp_path: Path, version: str) -> dict[str, str]:
    """A PATH whose only `java` prints `version` the way the JDK does."""
    script = tmp_path / "java"
    script.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\"' >&2\n")
    script.chmod(0o755)
    return {"PATH": str(tmp_path)}


def test_unset_takes_kafka_where_a_jdk_17_is_present(tmp_path: Path) -> None:
    choice = choose_broker(fake_java(tmp_path, "17.0.15"))
    assert choice.name == "kafka"
    assert "17.0.15" in choice.reason


def test_unset_takes_tansu_without_a_jdk_and_says_why(tmp_path: Path) -> None:
    choice = choose_broker({"PATH": str(tmp_path)})
    assert choice.name == "tansu"
    assert "no Java" in choice.reason


def test_an_old_java_is_not_enough(tmp_path: Path) -> None:
    assert choose_broker(fake_java(tmp_path, "1.8.0_392")).name == "tansu"
    with pytest.raises(BrokerChoiceError, match="older than 17"):
        choose_broker({**fake_java(tmp_path, "11.0.2"), "BROKER": "kafka"})


def test_broker_set_wins_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    assert choose_broker({**fake_java(tmp_path, "21"), "BROKER": "tansu"}).name == "tansu"
    with pytest.raises(BrokerChoiceError, match="BROKER must be one of"):
        choose_broker({"BROKER": "redpanda"})


def test_an_external_cluster_is_kafka_whatever_the_machine_has(tmp_path: Path) -> None:
    config = StackConfig.from_env({"PATH": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092"})
    assert config.broker == "kafka"
    assert config.external_bootstrap_servers == "kafka:9092"


def test_replication_settings_come_from_the_environment() -> None:
    config = StackConfig.from_env(
        {"BROKER": "tansu", "KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}
    )
    assert (config.replication_factor, config.min_insync_replicas) == (3, 2)
    with pytest.raises(ValueError, match="KAFKA_REPLICATION_FACTOR"):
        StackConfig.from_env({"BROKER": "tansu", "KAFKA_REPLICATION_FACTOR": "0"})


def test_the_pom_pins_the_version_the_launcher_runs() -> None:
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert pinned is not None and pinned.group(1) == KAFKA_VERSION


@pytest.mark.skipif(not HAS_JDK, reason="no JDK 17+ here")
def test_this_machine_prefers_kafka() -> None:
    assert choose_broker(dict(os.environ, BROKER="")).name == "kafka"


def test_a_cluster_id_never_looks_like_an_option() -> None:
    ids = [new_cluster_id() for _ in range(2000)]  # ~1 in 64 random ids start with "-"
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
