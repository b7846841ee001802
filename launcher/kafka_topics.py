"""Create the system's topics (idempotent): those of topics.yaml plus the reply topics."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from messaging.kafka_auth import KafkaAuth
from messaging.rotation import TopicRotation
from messaging.topics import (
    TopicSpec,
    declared_topics,
    reply_topic,
    reply_topic_config,
    reply_topic_partitions,
)

TOPIC_ALREADY_EXISTS = 36


def system_topics(
    ingress_instances: Iterable[str], rotation: TopicRotation | None = None
) -> list[TopicSpec]:
    """Every fixed topic and the reply topic of each ingress instance, with their slots."""
    rotation = rotation or TopicRotation()
    fixed = [
        TopicSpec(name=name, partitions=spec.partitions, config=spec.config)
        for spec in declared_topics()
        for name in rotation.names(spec.name)
    ]
    replies = [
        TopicSpec(name=name, partitions=reply_topic_partitions(), config=reply_topic_config())
        for instance in ingress_instances
        for name in rotation.names(reply_topic(instance))
    ]
    return [*fixed, *replies]


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[TopicSpec],
    within: float = 30.0,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int = 1,
    auth: KafkaAuth | None = None,
) -> list[str]:
    """Create the topics that do not exist yet, with their settings; returns the names created.

    Retries until the broker answers or `within` seconds pass (then raises TimeoutError).
    """
    deadline = time.monotonic() + within
    while True:
        try:
            return await _create_missing(
                bootstrap_servers,
                topics,
                replication_factor,
                min_insync_replicas,
                auth or KafkaAuth(),
            )
        except (KafkaError, OSError) as exc:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"could not create topics on {bootstrap_servers} within {within:.0f} s: {exc!r}"
                ) from exc
            await asyncio.sleep(0.3)


async def _create_missing(
    bootstrap_servers: str,
    topics: Sequence[TopicSpec],
    replication_factor: int,
    min_insync_replicas: int,
    auth: KafkaAuth,
) -> list[str]:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=5000, **auth.client_options()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topics if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    spec.name,
                    spec.partitions,
                    replication_factor,
                    topic_configs=topic_configs(spec, min_insync_replicas),
                )
                for spec in missing
            ],
            timeout_ms=10000,
        )
        failed = [
            f"{name}: {message or code}"
            for name, code, message in _topic_errors(response)
            if code not in (0, TOPIC_ALREADY_EXISTS)
        ]
        if failed:
            raise KafkaError("topic creation failed: " + "; ".join(failed))
        return [spec.name for spec in missing]
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def topic_configs(spec: TopicSpec, min_insync_replicas: int) -> dict[str, str]:
    """A topic's settings at creation: those of topics.yaml and min.insync.replicas."""
    return {**dict(spec.config), "min.insync.replicas": str(min_insync_replicas)}


def _topic_errors(response: object) -> list[tuple[str, int, str | None]]:
    errors = getattr(response, "topic_errors", [])
    result = []
    for entry in errors:
        name, code = entry[0], entry[1]
        message = entry[2] if len(entry) > 2 else None
        result.append((str(name), int(code), message))
    return result
