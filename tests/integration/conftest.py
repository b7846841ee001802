"""The real system for integration tests: broker, PostgreSQL, sandbox, workers, ingresses.

One stack serves the whole session (starting Faust takes seconds); tests keep
to their own ids and reset the sandbox. Tests that break the stack on purpose
(broker faults, killed workers) start their own with `start_stack`.
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
    tmp_path_factory: pytest.TempPathFactory, external_services: ExternalServices | None
) -> Iterator[RunningStack]:
    running = start_stack(
        tmp_path_factory.mktemp("stack"), ingresses=2, workers=1, external=external_services
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
