"""The operator tools run as an operator runs them: `python -m ops ...` in a subprocess,
pointed at a test stack by the same environment variables as every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from messaging.consumer_groups import PROCESSORS_GROUP
from tests.integration.conftest import RunningStack
from tests.integration.own_stack import own_stack
from tests.integration.payments.conftest import Payments, payments_on

REPO = Path(__file__).resolve().parents[3]


def ops_env(stack: RunningStack) -> dict[str, str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "DATABASE_URL": stack.database_url,
        "PAYMENTS_SERVICE_URL": f"{stack.sandbox_url}/contractor-merch-payments",
        "OPS_OPERATOR": "integration-test",
        # A re-drive the broker refuses fails within seconds, not the default ten.
        "OPS_SEND_TIMEOUT_S": "5",
    }
    env.pop("KAFKA_TOPIC_ROTATION_S", None)
    rotation = stack.local.stack.rotation
    if rotation.enabled:
        # The test stacks' period is not the local run's default the tools would assume.
        # On Kafka nothing rotates and, as at an operator's shell, nothing is set: the
        # tools find that out from the broker.
        env["KAFKA_TOPIC_ROTATION_S"] = str(rotation.period_s)
    return env


def ops_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ops", *args]


def run_ops(
    stack: RunningStack, *args: str, expect: int | None = 0
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ops_command(*args),
        cwd=REPO,
        env=ops_env(stack),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if expect is not None:
        assert done.returncode == expect, (
            f"ops {' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def ops_json(stack: RunningStack, *args: str, expect: int | None = 0) -> Any:
    return json.loads(run_ops(stack, *args, "--json", expect=expect).stdout)


def audit_lines(output: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in output.splitlines()
        if line.startswith("{") and '"audit"' in line
    ]


async def produce(
    stack: RunningStack, topic: str, key: bytes, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.local.stack.rotation.current(topic), value, key=key, headers=headers
        )
    finally:
        await producer.stop()


async def committed_offsets(
    stack: RunningStack, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The processors group's committed offsets of those `partitions` that have one (a
    consumer with the group id reads them; aiokafka's admin client cannot on the
    embedded broker)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap_servers,
        group_id=PROCESSORS_GROUP,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found = {tp: await consumer.committed(tp) for tp in partitions}
        return {tp: int(offset) for tp, offset in found.items() if offset is not None}
    finally:
        await consumer.stop()


async def committed(stack: RunningStack, topic: str, partition: int) -> int:
    """The processors' committed offset of one partition (-1: none)."""
    tp = TopicPartition(topic, partition)
    return (await committed_offsets(stack, [tp])).get(tp, -1)


@asynccontextmanager
async def database_refusing_connections(stack: RunningStack) -> AsyncIterator[None]:
    """The payments database turns every connection away (as during maintenance)."""
    parts = urlsplit(stack.database_url)
    name = parts.path.lstrip("/")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


# A stack whose status poll waits a minute, so what the poll would repair stays to be
# found (reconcile), and whose acceptance window is long, so a re-driven authorization
# is still in time to be created (an older one is declined: the partner gave up on it).
QUIET_POLL_ENV = {"PAYMENT_POLL_INTERVAL": "60", "PAYMENT_ACCEPTANCE_TIMEOUT": "300"}


@pytest.fixture(scope="session")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory, broker: str) -> Iterator[RunningStack]:
    run_dir = tmp_path_factory.mktemp(f"ops-stack-{broker}")
    with own_stack(run_dir, env=QUIET_POLL_ENV, broker=broker) as running:
        yield running


@pytest.fixture
async def payments(stack: RunningStack) -> AsyncIterator[Payments]:
    async with payments_on(stack, reset=True) as helper:
        yield helper


@pytest.fixture
async def quiet_payments(quiet_stack: RunningStack) -> AsyncIterator[Payments]:
    async with payments_on(quiet_stack, reset=True) as helper:
        yield helper


async def drop_status_events(payments: Payments, drop: bool) -> None:
    answer = await payments.http.post(
        f"{payments.stack.sandbox_url}/_sandbox/events/drop", json={"drop": drop}
    )
    answer.raise_for_status()
