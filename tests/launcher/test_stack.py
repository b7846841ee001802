"""LocalStack with dummy children: real broker and PostgreSQL, topics, migrations, recovery."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from launcher.migrate import apply_migrations, discover, ensure_database
from launcher.stack import PROJECT_ROOT, LocalStack, StackConfig
from messaging.topics import declared_topics, reply_topic
from tests.launcher.dummies import dummy_commands, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, output: io.StringIO) -> Iterator[LocalStack]:
    config = StackConfig.for_tests(
        tmp_path_factory.mktemp("stack") / "run",
        **dummy_commands(),
        base_env={"PATH": os.environ.get("PATH", "")},
        stop_grace=3.0,
        output=output,
    )
    local = LocalStack(config).start(timeout=60)
    try:
        local.wait_until_healthy(30)
        yield local
    finally:
        local.stop()


def launcher_events(output: io.StringIO) -> list[dict[str, object]]:
    prefix = "launcher | "
    return [
        json.loads(line[len(prefix) :])
        for line in output.getvalue().splitlines()
        if line.startswith(prefix)
    ]


async def topic_names(bootstrap_servers: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def round_trip(bootstrap_servers: str, topic: str) -> bytes:
    value = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )
    await producer.start()
    await consumer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
        async with asyncio.timeout(20):
            async for message in consumer:
                if message.value == value:
                    return value
    finally:
        await consumer.stop()
        await producer.stop()
    raise AssertionError("unreachable")


def test_children_get_the_stack_and_the_defaults_it_chose(
    stack: LocalStack, output: io.StringIO
) -> None:
    events = [event["event"] for event in launcher_events(output)]
    assert "PARTNER_KEYS not set: using mobi=dev-mobi-key" in events
    assert "METERS_ROLLOUT not set: using all" in events
    started = json.loads(stack.recent_output("ingress-1")[0])
    assert started["kafka_bootstrap_servers"] == stack.bootstrap_servers
    assert started["database_url"] == stack.database_url
    assert started["partner_keys"] == "mobi=dev-mobi-key"
    assert set(stack.pids) == {"broker", "postgres", "sandbox", "worker-1", "ingress-1"}
    assert f"ingress-1 | {stack.recent_output('ingress-1')[0]}" in output.getvalue()


async def test_broker_takes_a_produce_and_a_consume(stack: LocalStack) -> None:
    assert await round_trip(stack.bootstrap_servers, "probe-requests")


async def test_declared_and_reply_topics_exist(stack: LocalStack) -> None:
    names = await topic_names(stack.bootstrap_servers)
    assert {spec.name for spec in declared_topics()} <= names
    assert reply_topic("ingress-1") in names


async def test_migrations_ran_at_start_and_running_again_changes_nothing(
    stack: LocalStack,
) -> None:
    assert await apply_migrations(stack.database_url) == []
    conn = await asyncpg.connect(stack.database_url)
    try:
        rows = await conn.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        expected = [(m.version, m.name) for m in discover()]
        assert [(r["version"], r["name"]) for r in rows] == expected
        assert expected[0] == (1, "init")
        assert await conn.fetchval("SELECT to_regclass('processed_messages')::text")
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_migration_once(
    stack: LocalStack, tmp_path: Path
) -> None:
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first (id int);")
    (tmp_path / "0002_second.sql").write_text("CREATE TABLE second (id int);")
    url = stack.database_url.rsplit("/", 1)[0] + f"/m_{uuid.uuid4().hex[:8]}"
    assert await ensure_database(url)
    results = await asyncio.gather(*(apply_migrations(url, tmp_path) for _ in range(3)))
    assert sorted(m.version for result in results for m in result) == [1, 2]
    assert await apply_migrations(url, tmp_path) == []


def test_killed_worker_is_restarted(stack: LocalStack) -> None:
    before = stack.pids["worker-1"]
    os.kill(before, signal.SIGKILL)
    # The new pid shows (another thread) a moment before the restart is counted.
    wait_until(
        lambda: stack.pids.get("worker-1", before) != before and stack.restarts("worker-1") > 0,
        5,
        "worker restarted",
    )
    assert stack.restarts("worker-1") == 1
    stack.wait_until_healthy(10)


def test_sigstopped_broker_is_not_taken_for_dead(stack: LocalStack) -> None:
    pid = stack.pids["broker"]
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(2.0)  # the launcher watches the process, not the port: nothing may happen
        assert stack.pids["broker"] == pid
        assert stack.broker_recoveries == 0
    finally:
        os.kill(pid, signal.SIGCONT)


async def test_killed_broker_comes_back_with_topics_fresh_workers_and_told_ingresses(
    stack: LocalStack, output: io.StringIO
) -> None:
    before = dict(stack.pids)
    os.kill(before["broker"], signal.SIGKILL)
    began = time.monotonic()
    while stack.broker_recoveries < 1:
        assert time.monotonic() - began < 30, "broker not recovered"
        await asyncio.sleep(0.1)
    after = stack.pids
    assert after["broker"] != before["broker"]
    # The ingress kept serving: told the broker was lost, then that it was replaced.
    assert after["ingress-1"] == before["ingress-1"]
    told = [
        json.loads(line.split(" | ", 1)[1])["signal"]
        for line in output.getvalue().splitlines()
        if line.startswith("ingress-1 | ") and "dummy signalled" in line
    ]
    assert told == ["SIGUSR1", "SIGUSR2"]
    assert after["worker-1"] != before["worker-1"]
    assert after["sandbox"] == before["sandbox"]
    names = await topic_names(stack.bootstrap_servers)
    assert {spec.name for spec in declared_topics()} <= names
    assert reply_topic("ingress-1") in names
    assert await round_trip(stack.bootstrap_servers, "ride-events")
    events = [event["event"] for event in launcher_events(output)]
    assert "broker recovered" in events


def test_migrate_runs_alone_from_the_command_line(stack: LocalStack) -> None:
    url = stack.database_url.rsplit("/", 1)[0] + f"/cli_{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-m", "launcher.migrate"],
        env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line)["event"] for line in result.stdout.splitlines()]
    applied = ["migration applied"] * len(discover())
    assert events == ["database created", *applied, "migrations up to date"]
