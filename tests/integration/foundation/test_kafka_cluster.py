"""A three-node Kafka cluster loses no payment when a broker and a worker are SIGKILLed.

Three KRaft nodes on this machine (each broker and controller, a static three-voter
quorum, small heaps), every topic with three replicas and `min.insync.replicas=2`; two
ingress instances and three workers. Under authorize load one broker is SIGKILLed and
started again a few seconds later, and one worker is SIGKILLed in the same run. Then:
every authorization answered `approved` stays approved, every `pending` one reaches a
final state, the driver is debited once per approved payment, answers went on while the
broker was away (the p99 of each phase is printed, `-s`), and the restarted broker is
back in every partition's in-sync replicas. Skipped where no JDK 17+ exists.

It takes 1.5-3 minutes here (three JVMs, two ingresses, three workers on two shared
cores), so it runs only with `--cluster` (`make test-cluster`), not in `make test`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import statistics
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from launcher.kafka_broker import ClusterNode, KafkaBroker, new_cluster_id
from launcher.kafka_jars import ensure_jars, find_jdk
from launcher.logs import Log, OutputSink
from launcher.ports import free_port, wait_for_port
from launcher.stack import LocalStack, StackConfig
from messaging.topics import MERCH_PAYMENT_EVENTS, PAYMENT_REQUESTS
from tests.integration.conftest import STACK_ENV, RunningStack, kafka_unavailable
from tests.integration.payments.conftest import Payments, new_transaction_id

NODES = 3
HOST = "127.0.0.1"
AMOUNT = 100
BALANCE = 10_000_000
CONCURRENCY = 8
WARM_UP = 16
LOAD_S = 24.0
KILL_BROKER_AT_S = 5.0
KILL_WORKER_AT_S = 8.0
RESTART_BROKER_AT_S = 12.0
FINAL = ("approved", "declined", "cancelled")
SETTLE_S = 90.0
ISR_BACK_WITHIN_S = 60.0


class LocalCluster:
    """Three Kafka nodes as plain child processes of the test, data under `run_dir`."""

    def __init__(self, run_dir: Path) -> None:
        jdk = find_jdk()
        assert jdk is not None
        self.output: IO[str] = (run_dir / "kafka-cluster.log").open("a", buffering=1)
        log = Log(OutputSink(self.output))
        ports = [(free_port(), free_port()) for _ in range(NODES)]
        voters = ",".join(f"{n}@{HOST}:{c}" for n, (_, c) in enumerate(ports, start=1))
        cluster_id = new_cluster_id()
        self.nodes = [
            KafkaBroker(
                HOST,
                port,
                controller,
                run_dir,
                jdk,
                log,
                min_insync_replicas=2,
                cluster=ClusterNode(n, voters, cluster_id, replicas=NODES),
            )
            for n, (port, controller) in enumerate(ports, start=1)
        ]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def start(self) -> None:
        async def prepare() -> None:
            await asyncio.gather(*(node.prepare() for node in self.nodes))

        asyncio.run(prepare())
        for n in range(1, NODES + 1):
            self.start_node(n)
        for node in self.nodes:
            asyncio.run(wait_for_port(node.port, HOST, within=60))

    def start_node(self, n: int) -> None:
        spec = self.nodes[n - 1].child_spec()
        self.processes[n] = subprocess.Popen(
            spec.command, env=spec.env, stdout=self.output, stderr=subprocess.STDOUT
        )

    def kill_node(self, n: int) -> None:
        process = self.processes[n]
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        self.output.close()


@pytest.fixture(scope="module")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalCluster]:
    if not request.config.getoption("--cluster"):
        pytest.skip("three-broker cluster test: opt in with --cluster (make test-cluster)")
    reason = kafka_unavailable()
    if reason is not None:
        pytest.skip(reason)
    ensure_jars()
    local = LocalCluster(Path(tmp_path_factory.mktemp("kafka-cluster")))
    try:
        local.start()
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="module")
def cluster_stack(
    cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    run_dir = Path(tmp_path_factory.mktemp("cluster-stack"))
    log_path = run_dir / "system.log"
    config = StackConfig.for_tests(
        run_dir,
        ingresses=2,
        workers=3,
        broker="kafka",
        external_bootstrap_servers=cluster.bootstrap_servers,
        replication_factor=NODES,
        min_insync_replicas=2,
        extra_env=dict(STACK_ENV),
        output=log_path.open("a", buffering=1),
    )
    local = LocalStack(config).start()
    running = RunningStack(local, log_path, dict(STACK_ENV))
    try:
        running.wait_until_healthy()
        yield running
    finally:
        local.stop()


@pytest.fixture
async def payments(cluster_stack: RunningStack) -> AsyncIterator[Payments]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Payments(cluster_stack, client)


@dataclass
class Answer:
    sent_at: float  # seconds since the load began
    took_s: float
    status: str


async def _load(
    payments: Payments, qr_code: str, ingress_url: str, began: float, answers: dict[int, Answer]
) -> None:
    while time.monotonic() - began < LOAD_S:
        tx = new_transaction_id()
        sent = time.monotonic()
        try:
            answer = await payments.http.post(
                f"{ingress_url}/mobi/v1/payments",
                json=payments.body(tx, qr_code, AMOUNT),
                headers=payments.headers,
            )
            status = (
                answer.json().get("status", "?")
                if answer.status_code == 200
                else f"http {answer.status_code}"
            )
        except httpx.HTTPError:
            status = "no answer"
        answers[tx] = Answer(sent - began, time.monotonic() - sent, status)
        if not status.startswith(("approved", "pending", "declined")):
            await asyncio.sleep(0.1)  # a partner backs off too


async def _in_sync_replicas(bootstrap_servers: str) -> list[int]:
    """The in-sync replica count of every partition of the money topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    await admin.start()
    try:
        described: Any = await admin.describe_topics([PAYMENT_REQUESTS, MERCH_PAYMENT_EVENTS])
        return [len(p["isr"]) for topic in described for p in topic["partitions"]]
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


def _p99(answers: list[Answer]) -> float:
    took = sorted(a.took_s for a in answers)
    if len(took) < 2:
        return took[0] if took else 0.0
    return statistics.quantiles(took, n=100, method="inclusive")[98]


async def test_a_broker_and_a_worker_killed_under_load_lose_and_double_nothing(
    payments: Payments, cluster_stack: RunningStack, cluster: LocalCluster
) -> None:
    driver = await payments.driver(balance=BALANCE)
    # Warm up (first fetches, JIT) so that the "before" p99 is the steady state's.
    warm_up = [new_transaction_id() for _ in range(WARM_UP)]
    for n, tx in enumerate(warm_up):
        url = cluster_stack.ingress_urls[n % 2]
        body = payments.body(tx, driver.qr_code, AMOUNT)
        await payments.http.post(f"{url}/mobi/v1/payments", json=body, headers=payments.headers)
    answers: dict[int, Answer] = {}
    began = time.monotonic()
    load = [
        asyncio.create_task(
            _load(payments, driver.qr_code, cluster_stack.ingress_urls[n % 2], began, answers)
        )
        for n in range(CONCURRENCY)
    ]
    await asyncio.sleep(KILL_BROKER_AT_S)
    cluster.kill_node(2)
    await asyncio.sleep(KILL_WORKER_AT_S - KILL_BROKER_AT_S)
    cluster_stack.kill_worker("worker-3")
    await asyncio.sleep(RESTART_BROKER_AT_S - KILL_WORKER_AT_S)
    cluster.start_node(2)
    await asyncio.gather(*load)

    # The broker rejoins: every partition of the money topics has its three replicas in sync.
    async def all_in_sync() -> bool:
        with contextlib.suppress(Exception):
            return all(n == NODES for n in await _in_sync_replicas(cluster.bootstrap_servers))
        return False

    deadline = time.monotonic() + ISR_BACK_WITHIN_S
    while not await all_in_sync():
        assert time.monotonic() < deadline, "the restarted broker did not rejoin every ISR"
        await asyncio.sleep(0.5)
    rejoined_s = time.monotonic() - began - RESTART_BROKER_AT_S

    taken = {tx: a.status for tx, a in answers.items() if a.status in ("approved", "pending")}
    assert len(taken) > 50, {a.status for a in answers.values()}  # the load did run
    final: dict[int, str] = {}
    deadline = time.monotonic() + SETTLE_S
    while len(final) < len(taken) and time.monotonic() < deadline:
        for tx in taken.keys() - final.keys():
            answer = await payments.status(tx)
            if answer.status_code == 200 and answer.json()["status"] in FINAL:
                final[tx] = answer.json()["status"]
        await asyncio.sleep(0.5)
    unsettled = taken.keys() - final.keys()
    assert not unsettled, f"{len(unsettled)} taken payments never reached a final state"
    flipped = [tx for tx, status in taken.items() if status == "approved" != final[tx]]
    assert not flipped, f"answered approved, then {[final[tx] for tx in flipped]}"
    approved = set()
    for tx in [*warm_up, *answers]:
        answer = await payments.status(tx)
        if answer.status_code == 200 and answer.json()["status"] == "approved":
            approved.add(answer.json().get("payment_id", tx))
    debits = [e["payment_id"] for e in await payments.ledger(driver) if e["kind"] == "debit"]
    assert len(debits) == len(set(debits)), "a payment was debited twice"
    assert len(debits) == len(approved)
    assert await payments.balance(driver) == BALANCE - len(approved) * AMOUNT

    # Answers went on while the broker was away.
    phases = {
        "before": [a for a in answers.values() if a.sent_at < KILL_BROKER_AT_S],
        "broker away": [
            a for a in answers.values() if KILL_BROKER_AT_S <= a.sent_at < RESTART_BROKER_AT_S
        ],
        "after": [a for a in answers.values() if a.sent_at >= RESTART_BROKER_AT_S],
    }
    served_while_away = [a for a in phases["broker away"] if a.status in ("approved", "pending")]
    assert served_while_away, "no payment was answered while one broker was away"
    counts: dict[str, int] = {}
    for given in answers.values():
        counts[given.status] = counts.get(given.status, 0) + 1
    p99 = {
        name: round(_p99([a for a in phase if a.status in (*FINAL, "pending")]), 2)
        for name, phase in phases.items()
    }
    print(  # with -s
        f"\nanswers {counts}; taken {len(taken)}, all final; approved {len(approved)}, "
        f"debits {len(debits)}; p99 s {p99}; ISR back {rejoined_s:.1f} s after the restart"
    )
    assert cluster_stack.local.restarts("worker-3") == 1
