"""The dashboard and the alerts proven against a real Prometheus scraping a test stack."""

from __future__ import annotations

import functools
import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from messaging.topics import PAYMENT_REQUESTS
from tests.integration.bodies import authorize_body, new_qr_code, sandbox_driver
from tests.integration.conftest import RunningStack, wait_for
from tests.integration.meters.conftest import Meters
from tests.integration.ops.conftest import ops_command, ops_env
from tests.integration.ops.prometheus_server import (
    COMPOSE_CONFIG,
    PROMETHEUS_DIR,
    REPO,
    binaries,
    local_config,
    query,
    running_prometheus,
)
from tests.integration.payments.conftest import MOBI_KEY, new_transaction_id

DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def host_port(url: str) -> str:
    return urlsplit(url).netloc


def dashboard_queries() -> list[tuple[str, str]]:
    found = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found.append((panel["title"], target["expr"]))
    return found


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    return binaries()


def test_compose_prometheus_configuration_is_valid(tools: tuple[str, str]) -> None:
    checked = subprocess.run(
        [tools[1], "check", "config", str(COMPOSE_CONFIG)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "rule files found" in checked.stdout + checked.stderr


def test_alerting_rules_pass_their_unit_tests(tools: tuple[str, str]) -> None:
    tested = subprocess.run(
        [tools[1], "test", "rules", "alerts_test.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.fixture
def reconciler(stack: RunningStack) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        ops_command("reconcile", "--since", "1h", "--every", "2s", "--metrics-port", str(port)),
        cwd=REPO,
        env=ops_env(stack),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def play_traffic(stack: RunningStack, poison: bytes) -> None:
    """Traffic that moves every panel: payments of each outcome, a cancel, a refund, a
    payment the status poll looks at, a dead letter, Israeli rides finished with and
    without a meter."""
    sandbox, ingress = stack.sandbox_url, stack.ingress_url
    partner = {"Authorization": f"Bearer {MOBI_KEY}"}

    def driver(balance: int, acceptance: str = "auto") -> str:
        qr = new_qr_code()
        body = sandbox_driver(qr, balance=balance, acceptance=acceptance, park_id="park-prom")
        httpx.post(f"{sandbox}/_sandbox/drivers", json=body).raise_for_status()
        return qr

    def authorize(tx: int, qr: str) -> str:
        answer = httpx.post(
            f"{ingress}/mobi/v1/payments",
            json=authorize_body(tx, qr, 1000),
            headers=partner,
            timeout=30,
        )
        return str(answer.json()["status"])

    rich = driver(1_000_000)
    txs = [new_transaction_id() for _ in range(3)]
    assert [authorize(tx, rich) for tx in txs] == ["approved"] * 3
    assert authorize(new_transaction_id(), driver(10)) == "declined"
    httpx.post(f"{ingress}/mobi/v1/payments/{txs[0]}/cancel", headers=partner, timeout=30)
    httpx.post(
        f"{ingress}/mobi/v1/payments/{txs[1]}/refunds",
        json={"refund_id": f"r-{uuid.uuid4().hex}", "amount": 100},
        headers=partner,
        timeout=30,
    )
    # Held for the driver past the hold timeout: the status poll looks at it meanwhile.
    assert authorize(new_transaction_id(), driver(1_000_000, "manual")) == "pending"
    produce_poison(stack, poison)
    meters = Meters(stack)
    try:
        metered, unmetered = meters.new_ride(), meters.new_ride()
        assert meters.start(metered)["state"] == "started"
        assert meters.finish(metered).status_code == 200
        meters.ride_event(metered, "ride_finished")
        meters.ride_event(unmetered, "ride_finished")
    finally:
        meters.close()


def produce_poison(stack: RunningStack, value: bytes) -> None:
    script = (
        "import asyncio, sys\n"
        "from aiokafka import AIOKafkaProducer\n"
        "async def main():\n"
        "    p = AIOKafkaProducer(bootstrap_servers=sys.argv[1]); await p.start()\n"
        "    await p.send_and_wait(sys.argv[2], sys.argv[3].encode(), key=b'poison')\n"
        "    await p.stop()\n"
        "asyncio.run(main())\n"
    )
    topic = stack.local.stack.rotation.current(PAYMENT_REQUESTS)
    subprocess.run(
        [sys.executable, "-c", script, stack.bootstrap_servers, topic, value.decode()],
        check=True,
        timeout=30,
    )


def test_every_dashboard_query_returns_data_and_alerts_are_loaded(
    tools: tuple[str, str], stack: RunningStack, reconciler: str, tmp_path: Path
) -> None:
    config = local_config(
        {
            "ingress": [host_port(u) for u in stack.internal_urls],
            "processors": [host_port(u) for u in stack.worker_urls],
            "reconciler": [reconciler],
        },
        tmp_path,
    )
    queries = dashboard_queries()
    assert len(queries) >= 17
    with running_prometheus(tools[0], config, free_port()) as prometheus:
        targets = wait_for(
            lambda: (
                (t := httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"])
                and all(x["health"] == "up" for x in t)
                and t
            ),
            timeout=30,
            what="every target scraped",
        )
        assert len(targets) == len(stack.ingress_urls) + len(stack.worker_urls) + 1
        play_traffic(stack, b"not json")

        for title, expr in queries:
            wait_for(
                functools.partial(query, prometheus, expr),
                timeout=45,
                what=f"data for {title!r}: {expr}",
            )

        # The dead-letter alert fires on a new dead letter (its series exists by now).
        produce_poison(stack, b"still not json")
        wait_for(
            lambda: query(prometheus, 'ALERTS{alertname="DeadLetters", alertstate="firing"}'),
            timeout=30,
            what="the DeadLetters alert firing",
        )
        rules = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
        names = {r["name"] for g in rules for r in g["rules"]}
        assert names >= {
            "PaymentsPendingTooLong",
            "DeadLetters",
            "ConsumerLagHigh",
            "PeerErrorRate",
            "ReconciliationDifferences",
            "ReconcilerDown",
        }
        assert query(prometheus, "reconcile_differences")
        assert query(prometheus, "payments_pending")
