"""`ops dlq redrive` records a re-drive only once the broker has taken it: one the broker
refuses fails the command, prints no audit line, and is re-driven later without `--force`.
Apache Kafka only: it is the broker that enforces a topic's settings to refuse a send with
(Tansu takes any message)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from messaging.topics import PAYMENT_REQUESTS
from tests.integration.conftest import RunningStack
from tests.integration.ops.conftest import audit_lines, produce, run_ops
from tests.integration.ops.test_dead_letters import letters_with
from tests.integration.payments.conftest import eventually

# Kafka's DescribeConfigs config source of a setting made on the topic itself.
TOPIC_CONFIG = 1


@asynccontextmanager
async def refusing_every_message(stack: RunningStack, topic: str) -> AsyncIterator[None]:
    """`topic` takes no message (`max.message.bytes` below any record batch's size), and
    gets its own settings back afterwards."""
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        # AlterConfigs replaces the topic's whole configuration: keep what was set on it.
        entries = described.resources[0][4]
        kept = {name: value for name, value, _, source, *_ in entries if source == TOPIC_CONFIG}
        assert "retention.ms" in kept, kept  # topics.yaml's, read back
        await _alter(admin, topic, {**kept, "max.message.bytes": "16"})
        try:
            yield
        finally:
            await _alter(admin, topic, kept)
    finally:
        await admin.close()


async def _alter(admin: AIOKafkaAdminClient, topic: str, configs: dict[str, str]) -> None:
    for response in await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs)]
    ):
        for code, message, *_ in response.resources:
            assert code == 0, f"altering {topic}: {code} {message}"


async def test_a_redrive_the_broker_refuses_is_not_recorded(stack: RunningStack) -> None:
    poison_id = f"poison-{uuid.uuid4().hex[:8]}"
    headers = [("correlation-id", poison_id.encode())]
    await produce(stack, PAYMENT_REQUESTS, b"mobi:1", b"\x00{not json", headers)
    (letter,) = await eventually(
        lambda: _async(letters_with(stack, correlation_id=poison_id)), what="poison dead-lettered"
    )
    offset = str(letter["offset"])

    async with refusing_every_message(stack, PAYMENT_REQUESTS):
        refused = run_ops(stack, "dlq", "redrive", offset, "--yes", expect=3)
        assert "MessageSizeTooLarge" in refused.stderr, refused.stderr
        assert audit_lines(refused.stdout) == []

    # Nothing was recorded: the same dead letter is re-driven again, no --force needed.
    assert "Dry run: 1 to re-drive" in run_ops(stack, "dlq", "redrive", offset).stdout
    (audit,) = audit_lines(run_ops(stack, "dlq", "redrive", offset, "--yes").stdout)
    assert audit["dead_letter"] == f"0/{offset}" and audit["forced"] is False


async def _async(value: Any) -> Any:
    return value
