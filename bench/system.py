"""The system `make bench` measures: a running `make run`, or one the bench starts itself.

Without --own-stack: the system at --ingress / --internal / --sandbox, or, when
nothing answers there, one started on the default ports (as `make run` would).
With --own-stack: a system of its own on free ports with its data in a temporary
run directory, so it never meets a `make run` nor another bench. Either way the
bench's own system runs on --broker (default: BROKER, else the launcher's choice).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TextIO

import httpx

from bench.cpu import Part, own_parts, recorded_parts
from bench.target import Target
from launcher.config import DEFAULT_RUN_DIR
from launcher.stack import LocalStack, StackConfig

BOOT_WITHIN_S = 180.0
# Settings of `make run` that would send the bench's own system to someone else's broker
# or database.
_EXTERNAL = ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")


@dataclass(frozen=True)
class System:
    target: Target
    how: str  # "running", "started on the default ports", "own stack on free ports"
    broker: str | None  # None: not known (a system the bench did not start)
    # Its processes, for CPU per request (bench/cpu.py); asked again at each reading.
    parts: Callable[[], list[Part]]


def answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def broker_settings(broker: str | None) -> dict[str, Any]:
    """StackConfig fields choosing the embedded broker, where the launcher has a choice."""
    if "broker" not in {f.name for f in fields(StackConfig)}:
        if broker not in (None, "tansu"):
            raise SystemExit(f"this launcher runs only the embedded Tansu broker, not {broker}")
        return {}
    environ = {k: v for k, v in os.environ.items() if k not in _EXTERNAL}
    if broker:
        environ["BROKER"] = broker
    try:
        chosen = StackConfig.from_env(environ)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    return {name: getattr(chosen, name) for name in ("broker", "broker_reason")}


def _local_stack(
    stack: ExitStack, log_path: Path, config: Callable[[TextIO], StackConfig]
) -> LocalStack:
    output = stack.enter_context(log_path.open("a", buffering=1))
    local = stack.enter_context(LocalStack(config(output)))
    local.wait_until_healthy(BOOT_WITHIN_S)
    return local


def _started_broker(settings: dict[str, Any]) -> str:
    return str(settings.get("broker", "tansu"))


def start_own_system(stack: ExitStack, broker: str | None, log_path: Path) -> System:
    """A whole system on free ports, its data in a temporary directory removed afterwards."""
    settings = broker_settings(broker)
    run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-run-")))
    print(f"starting a system of its own on free ports (its log: {log_path.name})")
    local = _local_stack(
        stack,
        log_path,
        lambda output: StackConfig.for_tests(run_dir, output=output, **settings),
    )
    partner = local.ingress_urls[0]
    # A launcher without the internal listener serves every route on the partner one.
    internal_urls: list[str] = getattr(local, "internal_urls", None) or [partner]
    return System(
        Target(partner, internal_urls[0], local.sandbox_url),
        "own stack on free ports",
        _started_broker(settings),
        own_parts(lambda: local.pids),
    )


def find_or_start_system(
    stack: ExitStack,
    target: Target,
    broker: str | None,
    log_path: Path,
    run_dir: Path = DEFAULT_RUN_DIR,
) -> System:
    """The system at `target`, started on the default ports when nothing answers there;
    a running one's processes are those its launcher recorded in `run_dir`."""
    how, started_broker = "running", None
    parts = recorded_parts(run_dir)
    if not answers(target.partner):
        settings = broker_settings(broker)
        print(
            f"nothing answers on the default ports: starting the system (its log: {log_path.name})"
        )
        local = _local_stack(stack, log_path, lambda output: StackConfig(output=output, **settings))
        how, started_broker = "started on the default ports", _started_broker(settings)
        parts = own_parts(lambda: local.pids)
    if not answers(target.internal):
        print(f"nothing answers at {target.internal}: internal routes go to {target.partner}")
        target = Target(target.partner, target.partner, target.sandbox)
    return System(target, how, started_broker, parts)
