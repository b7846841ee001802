"""The whole local system as one object: broker, PostgreSQL, topics, migrations, processes.

`Stack` starts, supervises (a broker that comes back empty is recovered) and stops
everything, in asyncio; launcher/stack.py's `LocalStack` drives it synchronously for tests.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from launcher.app_children import app_children
from launcher.broker_choice import FETCH_WAIT_MS, build_engine
from launcher.broker_recovery import BrokerRecovery
from launcher.child_env import child_env
from launcher.config import StackConfig
from launcher.health import HealthCheck, http_check, port_check, wait_until_healthy
from launcher.kafka_broker import KafkaBroker
from launcher.kafka_security import Role
from launcher.kafka_topics import ensure_topics, system_topics
from launcher.logs import Log, OutputSink, redact_url
from launcher.migrate import apply_migrations, ensure_database
from launcher.ports import check_ports_free, wait_for_port
from launcher.postgres import EmbeddedPostgres, prepare_run_dir
from launcher.rundir import PidRecord, RunLock
from launcher.supervisor import ChildProcess, ChildSpec
from launcher.topic_janitor import TopicJanitor
from messaging.consumer_groups import PROCESSORS_GROUP
from messaging.kafka_auth import KafkaAuth
from messaging.rotation import TopicRotation

APPS_STOP_BUDGET = 10.0  # seconds for ingress + workers + sandbox; the rest of 15 s is infra


class Stack:
    """Starts, supervises and stops the local system (asyncio; see LocalStack for sync use)."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.sink = OutputSink(config.output)
        self.log = Log(self.sink)
        self.broker = (
            build_engine(
                config.broker,
                host=config.host,
                port=config.broker_port,
                controller_port=config.controller_port,
                run_dir=config.run_dir,
                log=self.log,
                min_insync_replicas=config.min_insync_replicas,
                sasl=config.kafka_security == "sasl",
            )
            if config.embedded_broker
            else None
        )
        self.postgres = (
            EmbeddedPostgres(
                config.run_dir, config.host, config.postgres_port, config.database, self.log
            )
            if config.embedded_postgres
            else None
        )
        self.children: dict[str, ChildProcess] = {}
        self._run_lock = RunLock(config.run_dir)
        self._pid_record = PidRecord(config.run_dir)
        self._stopped = False
        rotates = self.broker is not None and self.broker.rotates
        self.rotation = TopicRotation(config.topic_rotation_s if rotates else 0.0)
        self.janitor = TopicJanitor(
            self.bootstrap_servers,
            self.rotation,
            PROCESSORS_GROUP,
            lambda: self.config.ingress_instances if self.config.start_ingress else [],
            self.log,
        )
        self._janitor_task: asyncio.Task[None] | None = None
        self.recovery = BrokerRecovery(
            self.broker,
            config,
            self.log,
            workers=lambda: self._children_named("worker-"),
            ingresses=lambda: self._children_named("ingress-"),
            recreate_topics=self._recreate_topics,
        )

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
        if isinstance(self.broker, KafkaBroker) and self.broker.users is not None:
            await self.broker.secure()
            self.log.info(
                "kafka SASL/SCRAM and ACLs on: one principal per role",
                users_file=str(self.broker.users.file),
            )

        for spec in app_children(config, env, self._role_env):
            await self._start_child(spec)
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
        await self.recovery.cancel()
        if self._janitor_task is not None:
            self._janitor_task.cancel()
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
                checks[instance] = http_check(f"{url}/health")
        if self.config.start_sandbox:
            checks["sandbox"] = port_check(host, self.config.sandbox_port)
        if self.config.start_workers:
            for n, port in enumerate(self.config.web_ports, start=1):
                checks[f"worker-{n}"] = port_check(host, port)
        if self.broker is not None:
            checks["broker"] = port_check(host, self.broker.port)
        if self.postgres is not None:
            checks["postgres"] = port_check(host, self.postgres.port)
        await wait_until_healthy(checks, timeout)

    # Parts

    def _ports_to_open(self) -> dict[str, int]:
        config = self.config
        ports: dict[str, int] = {}
        if self.broker is not None:
            ports["broker"] = config.broker_port
            if self.broker.name == "kafka":
                ports["broker controller"] = config.controller_port
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
        return child_env(
            self.config,
            self.log,
            bootstrap_servers=self.bootstrap_servers,
            database_url=self.database_url,
            sandbox_url=self.sandbox_url,
            rotation=self.rotation,
            broker=self.broker.name if self.broker is not None else "kafka",
            fetch_wait_ms=FETCH_WAIT_MS[self.broker.name if self.broker is not None else "kafka"],
            console=self.sink.console,
        )

    def _role_env(self, role: Role) -> dict[str, str]:
        """KAFKA_SASL_* of that role's principal when the embedded Kafka runs with SASL."""
        return self.broker.role_env(role) if isinstance(self.broker, KafkaBroker) else {}

    @property
    def kafka_auth(self) -> KafkaAuth:
        """The launcher's (admin's) identity towards the broker."""
        return self.broker.admin_auth if isinstance(self.broker, KafkaBroker) else KafkaAuth()

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
        self.log.info(
            f"broker: {self.broker.name} ({self.config.broker_reason})", broker=self.broker.name
        )
        await self.broker.prepare()
        await self._start_child(
            self.broker.child_spec(),
            before_respawn=self.recovery.broker_died,
            after_respawn=self.recovery.broker_respawned,
        )
        await wait_for_port(self.broker.port, self.broker.host, within=60)
        self.log.info(
            "broker ready", broker=self.broker.name, bootstrap_servers=self.bootstrap_servers
        )

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
        created = await ensure_topics(
            self.bootstrap_servers,
            topics,
            within=60,
            replication_factor=self.config.replication_factor,
            min_insync_replicas=self.config.min_insync_replicas,
            auth=self.kafka_auth,
        )
        self.log.info("topics ready", topics=[t.name for t in topics], created=created)

    async def _recreate_topics(self) -> None:
        if self.config.create_topics:
            self.janitor.forget()
            await self._create_topics()

    def _children_named(self, prefix: str) -> list[ChildProcess]:
        return [child for name, child in self.children.items() if name.startswith(prefix)]

    @property
    def broker_recoveries(self) -> int:
        return self.recovery.recoveries

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
