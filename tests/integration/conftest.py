"""The real system for integration tests: broker, PostgreSQL, sandbox, workers, ingresses.

One stack serves the whole session (starting Faust takes seconds); tests keep
to their own ids and reset the sandbox. Tests that break the stack on purpose
(broker faults, killed workers) start their own with `start_stack(..., broker=broker)`.

Every test that uses a stack runs on the embedded Tansu; those of the modules in
`KAFKA_LEG` run on Apache Kafka too (the `broker` fixture, `[tansu]` / `[kafka]` in the
test id). The Kafka leg is skipped where no JDK 17+ exists; its jars are fetched with
Maven on first use.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from launcher.kafka_jars import MIN_JAVA, ensure_jars, find_jdk
from launcher.stack import LocalStack, StackConfig
from tests.eventually import eventually_sync
from tests.integration.containers import ExternalServices, running_containers

# Short timeouts so the tests that wait for them finish quickly; each domain
# adds what it needs here (one stack serves all).
STACK_ENV: dict[str, str] = {
    "LOG_LEVEL": "INFO",
    "PARTNER_KEYS": "mobi=test-mobi-key,acme=test-acme-key",
    "INTERNAL_KEYS": "order-events=test-internal-key",
    "METERS_ROLLOUT": "all",
    "MONITEX_API_KEY": "test-monitex-key",
    "PAYMENT_HOLD_TIMEOUT": "4",
    "PAYMENT_ACCEPTANCE_TIMEOUT": "8",
    "FINISH_RIDE_TIMEOUT": "4",
    "SANDBOX_FAULT_TIMEOUT_SECONDS": "6",
    "KAFKA_SESSION_TIMEOUT_S": "6",
}
HEALTHY_WITHIN_S = 90.0
# Modules whose tests also run on Apache Kafka: request/reply, the faults (the broker
# killed under load too), authorize, and the operator tools (dead letters, trace,
# reconcile, the dashboards and alerts).
KAFKA_LEG = frozenset(
    {
        "foundation/test_request_reply.py",
        "foundation/test_self_healing.py",
        "payments/test_authorize.py",
        "foundation/test_broker_fault_under_load.py",
        "ops/test_dead_letters.py",
        "ops/test_trace.py",
        "ops/test_reconcile.py",
        "ops/test_prometheus.py",
    }
)
# Modules that run on Apache Kafka only (what they show needs a topic setting only Kafka
# enforces).
KAFKA_ONLY = frozenset({"ops/test_redrive_refused.py"})
INTEGRATION_DIR = Path(__file__).resolve().parent


def kafka_unavailable() -> str | None:
    """Why the Kafka leg cannot run here (one line), or None."""
    jdk = find_jdk()
    if jdk is None:
        return f"Kafka leg skipped: no JDK {MIN_JAVA}+ on this machine (no java on PATH)"
    if jdk.major < MIN_JAVA:
        return f"Kafka leg skipped: Java {jdk.version} here, Kafka 4 needs {MIN_JAVA}+"
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "broker" not in metafunc.fixturenames:
        return
    module = metafunc.definition.path.relative_to(INTEGRATION_DIR).as_posix()
    brokers = (
        ["kafka"]
        if module in KAFKA_ONLY
        else ["tansu", "kafka"]
        if module in KAFKA_LEG
        else ["tansu"]
    )
    metafunc.parametrize("broker", brokers, indirect=True, scope="session")


@pytest.fixture(scope="session")
def broker(request: pytest.FixtureRequest) -> str:
    """The embedded broker of the stacks of this test: "tansu" or "kafka"."""
    name: str = getattr(request, "param", "tansu")
    if name == "kafka":
        reason = kafka_unavailable()
        if reason is not None:
            pytest.skip(reason)
        ensure_jars()  # Maven, once per clone; before the stack's start timeout runs
    return name


@dataclass
class RunningStack:
    """What a test needs of a running stack."""

    local: LocalStack
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def ingress_url(self) -> str:
        return self.local.ingress_urls[0]

    @property
    def ingress_urls(self) -> list[str]:
        return self.local.ingress_urls

    @property
    def internal_url(self) -> str:
        """The first ingress's internal listener: driver route, ride events, probe, metrics."""
        return self.local.internal_urls[0]

    @property
    def internal_urls(self) -> list[str]:
        return self.local.internal_urls

    @property
    def sandbox_url(self) -> str:
        return self.local.sandbox_url

    @property
    def worker_urls(self) -> list[str]:
        return self.local.worker_urls

    @property
    def database_url(self) -> str:
        return self.local.database_url

    @property
    def bootstrap_servers(self) -> str:
        return self.local.bootstrap_servers

    @property
    def pids(self) -> dict[str, int]:
        return self.local.pids

    def signal(self, name: str, signum: int) -> None:
        os.kill(self.pids[name], signum)

    def kill_worker(self, name: str = "worker-1") -> int:
        pid = self.pids[name]
        os.kill(pid, signal.SIGKILL)
        return pid

    def log_text(self) -> str:
        """Every line every process wrote so far."""
        return self.log_path.read_text(errors="replace")

    def wait_until_healthy(self, timeout: float = HEALTHY_WITHIN_S) -> None:
        self.local.wait_until_healthy(timeout)


def start_stack(
    run_dir: Path,
    *,
    ingresses: int = 1,
    workers: int = 1,
    env: dict[str, str] | None = None,
    external: ExternalServices | None = None,
    broker: str = "tansu",
    **overrides: Any,
) -> RunningStack:
    """A stack of its own; `overrides` are `StackConfig` fields (say, `worker_command`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "system.log"
    output = log_path.open("a", buffering=1)
    merged = {**STACK_ENV, **(env or {})}
    config = StackConfig.for_tests(
        run_dir,
        ingresses=ingresses,
        workers=workers,
        broker=broker,
        extra_env=merged,
        output=output,
        external_bootstrap_servers=external.bootstrap_servers if external else None,
        external_database_url=external.database_url if external else None,
        **overrides,
    )
    local = LocalStack(config).start()
    running = RunningStack(local, log_path, merged)
    running.wait_until_healthy()
    return running


@pytest.fixture(scope="session")
def external_services(request: pytest.FixtureRequest) -> Iterator[ExternalServices | None]:
    """Containers with `--containers`, else None (the stack embeds broker and database)."""
    if not request.config.getoption("--containers"):
        yield None
        return
    with running_containers() as services:
        yield services


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    external_services: ExternalServices | None,
    broker: str,
) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp(f"stack-{broker}"),
        ingresses=2,
        workers=1,
        external=external_services,
        broker=broker,
    )
    try:
        yield running
    finally:
        running.local.stop()


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.1, what: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    return eventually_sync(condition, timeout=timeout, interval=interval, what=what)


INTERNAL_KEY = "test-internal-key"
SERVICE_HEADERS = {"Authorization": f"Bearer {INTERNAL_KEY}"}


def probe(internal_url: str, timeout: float = 5.0) -> httpx.Response:
    """One round trip through Kafka and a processor, on an ingress's internal listener."""
    return httpx.post(f"{internal_url}/internal/v1/probe", timeout=timeout)
