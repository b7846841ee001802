"""Topic names, the only place code gets them from; checked against topics.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TOPICS_FILE = Path(__file__).resolve().parent.parent / "topics.yaml"

PAYMENT_REQUESTS = "payment-requests"
MERCH_PAYMENT_EVENTS = "merch-payment-events"
RIDE_EVENTS = "ride-events"
METER_REQUESTS = "meter-requests"
PROBE_REQUESTS = "probe-requests"
DEAD_LETTERS = "dead-letters"

REPLY_TOPIC_PREFIX = "replies."
# Slot topics of a rotated topic (messaging/rotation.py): `<name>.r1`, `<name>.r2`, ...
SLOT_SUFFIX = ".r"


def reply_topic(instance: str) -> str:
    """The reply topic of one ingress instance (`replies.{instance}` in topics.yaml)."""
    return f"{REPLY_TOPIC_PREFIX}{instance}"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    # Topic settings given at creation (retention.ms, cleanup.policy, ...), as strings.
    config: tuple[tuple[str, str], ...] = ()


@cache
def _declarations() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TOPICS_FILE.read_text())
    return loaded


def declared_topics() -> list[TopicSpec]:
    """The fixed topics of topics.yaml (reply topics are per instance)."""
    return [
        TopicSpec(name=name, partitions=int(spec["partitions"]), config=_config(spec))
        for name, spec in _declarations()["topics"].items()
    ]


def _config(spec: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((key, str(value)) for key, value in (spec.get("config") or {}).items())


def reply_topic_config() -> tuple[tuple[str, str], ...]:
    """The settings of every reply topic."""
    return _config(_declarations()["reply_topics"])


def reply_topic_partitions() -> int:
    return int(_declarations()["reply_topics"]["partitions"])


@cache
def rotated_topics() -> frozenset[str]:
    """Topics marked `rotate: true`: spread over slot topics on the embedded broker."""
    return frozenset(
        name for name, spec in _declarations()["topics"].items() if spec.get("rotate", False)
    )


def base_topic(name: str) -> str:
    """The topics.yaml name a slot topic belongs to (the name itself otherwise)."""
    head, sep, tail = name.rpartition(SLOT_SUFFIX)
    return head if sep and tail.isdigit() else name


@cache
def _declared_names() -> frozenset[str]:
    return frozenset(spec.name for spec in declared_topics())


def is_declared(topic: str) -> bool:
    # Checked on every publish and reply: the names are read once.
    return base_topic(topic) in _declared_names() or topic.startswith(REPLY_TOPIC_PREFIX)
