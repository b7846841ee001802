"""The whole local system as one object: broker, PostgreSQL, topics, migrations, processes.

`Stack` is the asyncio implementation (the CLI runs it in its own loop); `LocalStack`
runs a `Stack` on a private thread and loop, with a plain synchronous API for tests:

    stack = LocalStack(StackConfig.for_tests(tmp_path / "run")).start()
    stack.wait_until_healthy(60)
    ... stack.ingress_urls[0], stack.bootstrap_servers, stack.database_url, stack.pids ...
    stack.stop()
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO, TypeVar

import httpx

import local_defaults
from launcher.broker import EmbeddedBroker
from launcher.kafka_topics import ensure_topics, system_topics
from launcher.logs import Log, OutputSink, redact_url
from launcher.migrate import MIGRATIONS_DIR, apply_migrations, ensure_database
from launcher.ports import check_ports_free, free_port, is_listening, wait_for_port
from launcher.postgres import EmbeddedPostgres, prepare_run_dir
from launcher.rundir import PidRecord, RunLock
from launcher.supervisor import ChildProcess, ChildSpec
from launcher.topic_janitor import TopicJanitor
from messaging.consumer_groups import PROCESSORS_GROUP
from messaging.rotation import ROTATION_ENV, TopicRotation
from observability.logs import LOG_FORMAT_ENV

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RUN_DIR = PROJECT_ROOT / ".run"
FIRST_WORKER_WEB_PORT = local_defaults.WORKER_WEB_PORT
FIRST_INGRESS_INTERNAL_PORT = local_defaults.INGRESS_INTERNAL_PORT

# Defaults of the local run, given to the children when the environment lacks them.
ENV_DEFAULTS = {
    "PARTNER_KEYS": local_defaults.PARTNER_KEYS,
    "METERS_ROLLOUT": "all",
    "MONITEX_API_KEY": local_defaults.MONITEX_API_KEY,
}
# Each peer's base URL defaults to the sandbox's prefix for it.
PEER_URL_PREFIXES = {
    "PAYMENTS_SERVICE_URL": "/contractor-merch-payments",
    "MONITEX_URL": "/monitex",
    "ORDER_CORE_URL": "/order-core",
    "FLEET_VEHICLES_URL": "/fleet-vehicles",
    "DRIVER_PROFILES_URL": "/driver-profiles",
    "PERSONAL_URL": "/personal",
    "DRIVER_ORDERS_BUILDER_URL": "/driver-orders-builder",
    "CLIENT_NOTIFY_URL": "/client-notify",
}
DEFAULT_TOPIC_ROTATION_S = 10.0
APPS_STOP_BUDGET = 10.0  # seconds for ingress + workers + sandbox; the rest of 15 s is infra
BROKER_RECOVERY_GRACE = 5.0  # stop grace for Kafka clients restarted after a broker restart

# A readiness probe: None when ready, else what is wrong.
HealthCheck = Callable[[httpx.AsyncClient], Coroutine[Any, Any, str | None]]


def python_module(module: str) -> tuple[str, ...]:
    """The command that runs `python -m module` with this interpreter."""
    return (sys.executable, "-m", module)


@dataclass
class StackConfig:
    """Where everything listens and what to start. Defaults are those of `make run`."""

    run_dir: Path = DEFAULT_RUN_DIR
    host: str = local_defaults.HOST
    broker_port: int = local_defaults.BROKER_PORT
    postgres_port: int = local_defaults.POSTGRES_PORT
    database: str = local_defaults.DATABASE
    ingress_ports: list[int] = field(default_factory=lambda: [local_defaults.INGRESS_PORT])
    # Each ingress's internal listener; default 8090, 8091, ... (one per ingress).
    ingress_internal_ports: list[int] | None = None
    sandbox_port: int = local_defaults.SANDBOX_PORT
    workers: int = 1
    # Default: 6066, 6067, ... (WORKER_WEB_PORT = 6066 + N - 1)
    worker_web_ports: list[int] | None = None
    # Set to use a broker / database that already runs instead of the embedded ones.
    external_bootstrap_servers: str | None = None
    external_database_url: str | None = None
    start_ingress: bool = True
    start_workers: bool = True
    start_sandbox: bool = True
    ingress_command: Sequence[str] = python_module("ingress")
    worker_command: Sequence[str] = python_module("processors")
    sandbox_command: Sequence[str] = python_module("sandbox")
    # The children's environment: base_env (default: os.environ) + defaults + extra_env.
    base_env: Mapping[str, str] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    stop_grace: float = 8.0  # SIGTERM → SIGKILL escalation per child
    create_topics: bool = True
    # Seconds per slot of the rotated topics on the embedded broker (messaging/rotation.py);
    # 0 turns rotation off. Never used with an external broker.
    topic_rotation_s: float = DEFAULT_TOPIC_ROTATION_S
    migrations_dir: Path | None = MIGRATIONS_DIR  # None: apply no migrations
    cwd: Path = PROJECT_ROOT
    output: TextIO | None = None  # where log lines go (default: sys.stdout)

    @property
    def embedded_broker(self) -> bool:
        return self.external_bootstrap_servers is None

    @property
    def embedded_postgres(self) -> bool:
        return self.external_database_url is None

    @property
    def ingress_instances(self) -> list[str]:
        return [f"ingress-{n}" for n in range(1, len(self.ingress_ports) + 1)]

    @property
    def internal_ports(self) -> list[int]:
        if self.ingress_internal_ports is not None:
            if len(self.ingress_internal_ports) != len(self.ingress_ports):
                raise ValueError("ingress_internal_ports needs one port per ingress")
            return list(self.ingress_internal_ports)
        return [FIRST_INGRESS_INTERNAL_PORT + n for n in range(len(self.ingress_ports))]

    @property
    def web_ports(self) -> list[int]:
        if self.worker_web_ports is not None:
            if len(self.worker_web_ports) != self.workers:
                raise ValueError("worker_web_ports needs one port per worker")
            return list(self.worker_web_ports)
        return [FIRST_WORKER_WEB_PORT + n for n in range(self.workers)]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StackConfig:
        """The `make run` configuration: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, WORKERS."""
        raw_workers = environ.get("WORKERS", "1")
        try:
            workers = int(raw_workers)
        except ValueError:
            workers = 0
        if workers < 1:
            raise ValueError(f"WORKERS must be a positive integer, got {raw_workers!r}")
        return cls(
            workers=workers,
            external_bootstrap_servers=environ.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            external_database_url=environ.get("DATABASE_URL") or None,
            base_env=dict(environ),
        )

    @classmethod
    def for_tests(
        cls, run_dir: Path, *, ingresses: int = 1, workers: int = 1, **overrides: Any
    ) -> StackConfig:
        """Everything on free ports, data in `run_dir`; any field can be overridden."""
        config = cls(
            run_dir=run_dir,
            broker_port=free_port(),
            postgres_port=free_port(),
            ingress_ports=[free_port() for _ in range(ingresses)],
            ingress_internal_ports=[free_port() for _ in range(ingresses)],
            sandbox_port=free_port(),
            workers=workers,
            worker_web_ports=[free_port() for _ in range(workers)],
        )
        return replace(config, **overrides)


class Stack:
    """Starts, supervises and stops the local system (asyncio; see LocalStack for sync use)."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.sink = OutputSink(config.output)
        self.log = Log(self.sink)
        self.broker = (
            EmbeddedBroker(config.host, config.broker_port) if config.embedded_broker else None
        )
        self.postgres = (
            EmbeddedPostgres(
                config.run_dir, config.host, config.postgres_port, config.database, self.log
            )
            if config.embedded_postgres
            else None
        )
        self.children: dict[str, ChildProcess] = {}
        self.broker_recoveries = 0
        self._run_lock = RunLock(config.run_dir)
        self._pid_record = PidRecord(config.run_dir)
        self._recovery_lock = asyncio.Lock()
        self._recoveries: set[asyncio.Task[Any]] = set()
        self._stopped = False
        self.rotation = TopicRotation(config.topic_rotation_s if self.broker is not None else 0.0)
        self.janitor = TopicJanitor(
            self.bootstrap_servers,
            self.rotation,
            PROCESSORS_GROUP,
            lambda: self.config.ingress_instances if self.config.start_ingress else [],
            self.log,
        )
        self._janitor_task: asyncio.Task[None] | None = None

    # Where things are

    @property
    def bootstrap_servers(self) -> str:
        if self.broker is not None:
            return self.broker.bootstrap_servers
        assert self.config.external_bootstrap_servers is not None
        return self.config.external_bootstrap_servers

    @property
    def database_url(self) -> str:
        if self.postgres is not None:
            return self.postgres.database_url
        assert self.config.external_database_url is not None
        return self.config.external_database_url

    @property
    def ingress_urls(self) -> list[str]:
        return [f"http://{self.config.host}:{port}" for port in self.config.ingress_ports]

    @property
    def internal_urls(self) -> list[str]:
        """Each ingress's internal listener (driver route, ride events, probe, metrics)."""
        return [f"http://{self.config.host}:{port}" for port in self.config.internal_ports]

    @property
    def sandbox_url(self) -> str:
        return f"http://{self.config.host}:{self.config.sandbox_port}"

    @property
    def worker_urls(self) -> list[str]:
        return [f"http://{self.config.host}:{port}" for port in self.config.web_ports]

    @property
    def pids(self) -> dict[str, int]:
        """Pid of each running child by name: broker, postgres, ingress-1, worker-1, sandbox."""
        return {name: child.pid for name, child in self.children.items() if child.pid is not None}

    # Lifecycle

    async def start(self) -> None:
        """Start everything; on any failure (or cancellation) stop what was started and raise."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        config = self.config
        began = time.monotonic()
        prepare_run_dir(config.run_dir)
        self._run_lock.acquire()
        await asyncio.to_thread(self._pid_record.end_leftovers, self.log)
        if self.postgres is not None:
            await asyncio.to_thread(self.postgres.end_stale_server)
        check_ports_free(self._ports_to_open(), config.host)
        env = self._child_env()

        await asyncio.gather(self._start_broker(), self._start_postgres())
        if await ensure_database(self.database_url):
            self.log.info("database created", database=redact_url(self.database_url))
        if config.migrations_dir is not None:
            await apply_migrations(self.database_url, config.migrations_dir, self.log)
            self.log.info("migrations up to date", directory=str(config.migrations_dir))
        if config.create_topics:
            await self._create_topics()
            if self.rotation.enabled:
                self._janitor_task = asyncio.create_task(self.janitor.run(), name="topic-janitor")

        if config.start_sandbox:
            await self._start_child(
                ChildSpec(
                    "sandbox",
                    config.sandbox_command,
                    env={**env, "SANDBOX_PORT": str(config.sandbox_port)},
                    cwd=config.cwd,
                    stop_grace=config.stop_grace,
                )
            )
        if config.start_workers:
            for n, port in enumerate(config.web_ports, start=1):
                name = f"worker-{n}"
                await self._start_child(
                    ChildSpec(
                        name,
                        config.worker_command,
                        env={**env, "WORKER_ID": name, "WORKER_WEB_PORT": str(port)},
                        cwd=config.cwd,
                        stop_grace=config.stop_grace,
                    )
                )
        if config.start_ingress:
            for instance, port, internal in zip(
                config.ingress_instances, config.ingress_ports, config.internal_ports, strict=True
            ):
                await self._start_child(
                    ChildSpec(
                        instance,
                        config.ingress_command,
                        env={
                            **env,
                            "INGRESS_PORT": str(port),
                            "INGRESS_INTERNAL_PORT": str(internal),
                            "INGRESS_INSTANCE_ID": instance,
                        },
                        cwd=config.cwd,
                        stop_grace=config.stop_grace,
                    )
                )
        self.log.info(
            "stack started",
            took_s=round(time.monotonic() - began, 2),
            **self._where(),
        )

    async def stop(self) -> None:
        """Stop everything: ingress, workers, sandbox, then broker and PostgreSQL (≤ 15 s)."""
        if self._stopped:
            return
        self._stopped = True
        began = time.monotonic()
        if self.children:
            self.log.info("stopping", processes=list(self.children))
        for task in [*self._recoveries, *filter(None, [self._janitor_task])]:
            task.cancel()
        await asyncio.gather(*self._recoveries, return_exceptions=True)
        if self._janitor_task is not None:
            await asyncio.gather(self._janitor_task, return_exceptions=True)
        deadline = began + APPS_STOP_BUDGET
        phases = [
            [c for c in self.children.values() if c.name.startswith("ingress-")],
            [c for c in self.children.values() if c.name.startswith("worker-")],
            [c for c in self.children.values() if c.name == "sandbox"],
        ]
        for phase in phases:
            if phase:
                grace = max(0.5, min(self.config.stop_grace, deadline - time.monotonic()))
                await asyncio.gather(*(child.stop(grace) for child in phase))
        infra = [self.children[name] for name in ("broker", "postgres") if name in self.children]
        await asyncio.gather(*(child.stop(min(child.spec.stop_grace, 4.0)) for child in infra))
        if self._run_lock.held:  # never touch the record of another, live launcher
            self._pid_record.clear()
            self._run_lock.release()
        if self.children:
            self.log.info("stopped", took_s=round(time.monotonic() - began, 2))

    async def wait_until_healthy(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Each ingress answers GET /health with 200; the other processes listen on their port."""
        checks: dict[str, HealthCheck] = {}
        host = self.config.host
        if self.config.start_ingress:
            for instance, url in zip(self.config.ingress_instances, self.ingress_urls, strict=True):
                checks[instance] = _http_check(f"{url}/health")
        if self.config.start_sandbox:
            checks["sandbox"] = _port_check(host, self.config.sandbox_port)
        if self.config.start_workers:
            for n, port in enumerate(self.config.web_ports, start=1):
                checks[f"worker-{n}"] = _port_check(host, port)
        if self.broker is not None:
            checks["broker"] = _port_check(host, self.broker.port)
        if self.postgres is not None:
            checks["postgres"] = _port_check(host, self.postgres.port)
        deadline = time.monotonic() + timeout
        problems: dict[str, str] = {}
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                results = await asyncio.gather(*(check(client) for check in checks.values()))
                problems = {
                    name: problem
                    for name, problem in zip(checks, results, strict=True)
                    if problem is not None
                }
                if not problems:
                    return
                if time.monotonic() >= deadline:
                    raise TimeoutError(
                        f"not healthy after {timeout:.0f} s: "
                        + "; ".join(f"{name}: {problem}" for name, problem in problems.items())
                    )
                await asyncio.sleep(0.25)

    # Parts

    def _ports_to_open(self) -> dict[str, int]:
        config = self.config
        ports: dict[str, int] = {}
        if self.broker is not None:
            ports["broker"] = config.broker_port
        if self.postgres is not None:
            ports["postgres"] = config.postgres_port
        if config.start_ingress:
            ports.update(zip(config.ingress_instances, config.ingress_ports, strict=True))
            ports.update(
                (f"{instance} internal", port)
                for instance, port in zip(
                    config.ingress_instances, config.internal_ports, strict=True
                )
            )
        if config.start_sandbox:
            ports["sandbox"] = config.sandbox_port
        if config.start_workers:
            ports.update(
                (f"worker-{n} web", port) for n, port in enumerate(config.web_ports, start=1)
            )
        return ports

    def _child_env(self) -> dict[str, str]:
        config = self.config
        env = dict(os.environ if config.base_env is None else config.base_env)
        env.update(config.extra_env)
        for key, value in ENV_DEFAULTS.items():
            if not env.get(key):
                env[key] = value
                self.log.info(f"{key} not set: using {value}", variable=key, value=value)
        peers = {
            key: self.sandbox_url + prefix
            for key, prefix in PEER_URL_PREFIXES.items()
            if not env.get(key)
        }
        if peers:
            env.update(peers)
            self.log.info(
                f"peer URLs not set: using the sandbox at {self.sandbox_url}",
                variables=sorted(peers),
            )
        env["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        env["DATABASE_URL"] = self.database_url
        env[ROTATION_ENV] = str(self.rotation.period_s)
        env.setdefault("LOG_LEVEL", "INFO")
        # Children write to our pipe: they render for people when our own output is for people.
        env.setdefault(LOG_FORMAT_ENV, "console" if self.sink.console else "json")
        env["PYTHONUNBUFFERED"] = "1"  # lines reach the launcher as they are written
        return env

    async def _start_child(self, spec: ChildSpec, **hooks: Any) -> ChildProcess:
        child = ChildProcess(spec, self.sink, self.log, on_spawn=self._record_pid, **hooks)
        self.children[spec.name] = child
        await child.start()
        self.log.info("process started", process=spec.name, pid=child.pid)
        return child

    def _record_pid(self, child: ChildProcess) -> None:
        if child.pid is not None:
            self._pid_record.record(child.name, child.pid, child.spec.stop_signal)

    async def _start_broker(self) -> None:
        if self.broker is None:
            self.log.info(
                "KAFKA_BOOTSTRAP_SERVERS set: using that broker, not starting one",
                bootstrap_servers=self.bootstrap_servers,
            )
            return
        await self._start_child(self.broker.child_spec(), after_respawn=self._broker_respawned)
        await wait_for_port(self.broker.port, self.broker.host, within=30)
        self.log.info("broker ready", bootstrap_servers=self.bootstrap_servers)

    async def _start_postgres(self) -> None:
        if self.postgres is None:
            self.log.info(
                "DATABASE_URL set: using that database, not starting PostgreSQL",
                database_url=redact_url(self.database_url),
            )
            return
        await asyncio.to_thread(self.postgres.init_cluster)
        await self._start_child(self.postgres.child_spec())
        await self.postgres.wait_ready(within=30)
        self.log.info(
            "postgres ready", database_url=self.database_url, data_dir=str(self.postgres.pgdata)
        )

    async def _create_topics(self) -> None:
        topics = system_topics(
            self.config.ingress_instances if self.config.start_ingress else [], self.rotation
        )
        created = await ensure_topics(self.bootstrap_servers, topics, within=30)
        self.log.info("topics ready", topics=[t.name for t in topics], created=created)

    async def _broker_respawned(self, broker: ChildProcess) -> None:
        """The embedded broker came back empty: topics, then every Kafka client, again."""
        task = asyncio.current_task()
        assert task is not None
        self._recoveries.add(task)
        try:
            async with self._recovery_lock:
                began = time.monotonic()
                self.log.warning(
                    "broker restarted with no topics, offsets or consumer groups: "
                    "recreating topics, restarting ingress and workers",
                    pid=broker.pid,
                )
                await wait_for_port(self.config.broker_port, self.config.host, within=30)
                if self.config.create_topics:
                    self.janitor.forget()
                    await self._create_topics()
                clients = [
                    child
                    for name, child in self.children.items()
                    if name.startswith(("ingress-", "worker-"))
                ]
                grace = min(self.config.stop_grace, BROKER_RECOVERY_GRACE)
                await asyncio.gather(
                    *(child.restart("the broker restarted", grace) for child in clients)
                )
                self.broker_recoveries += 1
                self.log.info(
                    "broker recovered",
                    took_s=round(time.monotonic() - began, 2),
                    restarted=[child.name for child in clients],
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.log.error("broker recovery failed", error=repr(exc))
        finally:
            self._recoveries.discard(task)

    def _where(self) -> dict[str, object]:
        where: dict[str, object] = {
            "kafka_bootstrap_servers": self.bootstrap_servers,
            "database_url": redact_url(self.database_url),
        }
        if self.config.start_ingress:
            where["ingress"] = self.ingress_urls
            where["ingress_internal"] = self.internal_urls
        if self.config.start_sandbox:
            where["sandbox"] = self.sandbox_url
        if self.config.start_workers:
            where["workers"] = self.worker_urls
        where["pids"] = self.pids
        where["run_dir"] = str(self.config.run_dir)
        return where


def _http_check(url: str) -> HealthCheck:
    async def check(client: httpx.AsyncClient) -> str | None:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            return f"GET {url} failed: {exc!r}"
        if response.status_code != 200:
            return f"GET {url} answered {response.status_code}: {response.text[:200]}"
        return None

    return check


def _port_check(host: str, port: int) -> HealthCheck:
    async def check(client: httpx.AsyncClient) -> str | None:
        if await asyncio.to_thread(is_listening, port, host):
            return None
        return f"nothing listens on {host}:{port}"

    return check


T = TypeVar("T")


class LocalStack:
    """A Stack on its own thread and event loop, driven synchronously (pytest fixtures).

    Child output keeps flowing and dead children keep being restarted whatever the
    calling thread does (a test may block, sleep or run its own event loop).
    """

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.stack = Stack(self.config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="local-stack", daemon=True
        )
        self._thread.start()
        self._running = False

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def start(self, timeout: float = 120.0) -> LocalStack:
        """Start everything (ports in use: PortsInUse; nothing is left running on failure)."""
        atexit.register(self.stop)
        self._running = True
        try:
            self._call(self.stack.start(), timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything and the private loop; safe to call twice."""
        if not self._running:
            return
        self._running = False
        atexit.unregister(self.stop)
        with contextlib.suppress(Exception):
            self._call(self.stack.stop(), 30.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        if not self._thread.is_alive():
            self._loop.close()

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        self._call(self.stack.wait_until_healthy(timeout), timeout + 5)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def bootstrap_servers(self) -> str:
        return self.stack.bootstrap_servers

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    @property
    def ingress_urls(self) -> list[str]:
        return self.stack.ingress_urls

    @property
    def internal_urls(self) -> list[str]:
        return self.stack.internal_urls

    @property
    def sandbox_url(self) -> str:
        return self.stack.sandbox_url

    @property
    def worker_urls(self) -> list[str]:
        return self.stack.worker_urls

    @property
    def pids(self) -> dict[str, int]:
        """Current pid of each running child (changes when one is restarted)."""
        return self.stack.pids

    @property
    def broker_recoveries(self) -> int:
        """How many times the broker was brought back and its clients restarted."""
        return self.stack.broker_recoveries

    def restarts(self, name: str) -> int:
        """How many times the child `name` was restarted (after a death or on request)."""
        return self.stack.children[name].restarts

    def recent_output(self, name: str) -> list[str]:
        """The last 200 lines the child `name` wrote (handy in assertion messages)."""
        return list(self.stack.children[name].recent_output)
