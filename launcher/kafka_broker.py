"""Apache Kafka in KRaft mode: one combined broker/controller node, data on disk in the run dir.

Started from the jars of launcher/kafka_jars.py with the machine's JDK: the storage is
formatted once (`kafka.tools.StorageTool format --standalone`), then `kafka.Kafka` runs.
Heap, GC and thread counts are sized for a small shared machine. Its data survives a
restart, so unlike the embedded Tansu a broker that comes back needs no topics recreated
and no clients restarted.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from launcher.kafka_jars import KAFKA_VERSION, PROJECT_ROOT, Jdk, ensure_jars
from launcher.kafka_security import KafkaUsers, Role, acl_rules, create_acls
from launcher.logs import Log
from launcher.supervisor import ChildSpec
from messaging.kafka_auth import KafkaAuth

LOG4J_CONFIG = PROJECT_ROOT / "launcher" / "kafka" / "log4j2.properties"
# 512 MB heap and a G1 with few threads: the broker shares two cores with everything else.
HEAP_MB = (256, 512)
JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:ParallelGCThreads=2",
    "-XX:ConcGCThreads=1",
    "-XX:CICompilerCount=2",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
STORAGE_FORMAT_TIMEOUT_S = 120.0


def new_cluster_id() -> str:
    """A random Kafka Uuid in its base64 form, never starting with "-": the format tool's
    argument parser would take such an id for an option (as Kafka's own generator avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


@dataclass(frozen=True)
class ClusterNode:
    """This node's place in a cluster of several on this machine (a static controller quorum)."""

    node_id: int
    voters: str  # controller.quorum.voters: "1@host:port,2@host:port,..."
    cluster_id: str  # the same for every node
    replicas: int  # of the internal topics (offsets, transactions)
    heap_mb: tuple[int, int] = (128, 384)  # several JVMs share two cores


class KafkaBroker:
    """One Kafka node on `host:port` (controller on `controller_port`), data in `run_dir/kafka`."""

    name = "kafka"
    keeps_data = True  # a restart keeps topics, offsets and groups
    rotates = False  # retention keeps topics small

    def __init__(
        self,
        host: str,
        port: int,
        controller_port: int,
        run_dir: Path,
        jdk: Jdk,
        log: Log,
        *,
        min_insync_replicas: int = 1,
        version: str = KAFKA_VERSION,
        sasl: bool = False,
        cluster: ClusterNode | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.controller_port = controller_port
        # One of several nodes (a cluster on this machine), or the only one.
        self.cluster = cluster
        self.home = run_dir / (f"kafka-{cluster.node_id}" if cluster else "kafka")
        self.data_dir = self.home / "data"
        self.properties = self.home / "server.properties"
        self.jdk = jdk
        self.log = log
        self.min_insync_replicas = min_insync_replicas
        self.version = version
        self._classpath: str | None = None
        # SASL/SCRAM principals and ACLs (launcher/kafka_security.py); None: no security.
        self.users = KafkaUsers(self.home) if sasl else None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    async def prepare(self) -> None:
        """Jars (fetched once), configuration, storage formatted on first use."""
        if self._classpath is None:
            libs, fetched = await asyncio.to_thread(ensure_jars, self.version)
            if fetched:
                self.log.info("kafka jars fetched with Maven", version=self.version, into=str(libs))
            self._classpath = str(libs / "*")
        self.home.mkdir(parents=True, exist_ok=True)
        formatted = (self.data_dir / "meta.properties").exists()
        if self.users is not None:
            if formatted and not self.users.file.exists():
                raise RuntimeError(
                    f"{self.data_dir} was formatted without SASL users: remove it "
                    "(or the run directory) to start with KAFKA_SECURITY=sasl"
                )
            self.users.load_or_create()
        self.properties.write_text(self._server_properties())
        if not formatted:
            await self._format_storage()

    @property
    def admin_auth(self) -> KafkaAuth:
        """The launcher's own identity towards this broker."""
        return self.users.auth("admin") if self.users is not None else KafkaAuth()

    def role_env(self, role: Role) -> dict[str, str]:
        """The KAFKA_SASL_* variables of a child of that role (none without security)."""
        return self.users.auth(role).env() if self.users is not None else {}

    async def secure(self) -> None:
        """The ACLs of every role, once the broker answers (nothing without security)."""
        if self.users is not None:
            await create_acls(self.bootstrap_servers, self.admin_auth, acl_rules())

    def child_spec(self, stop_grace: float = 8.0) -> ChildSpec:
        assert self._classpath is not None, "prepare() first"
        return ChildSpec(
            name="broker",
            command=[*self._java(), "kafka.Kafka", str(self.properties)],
            env=self._env(),
            stop_grace=stop_grace,
        )

    def _java(self) -> list[str]:
        assert self._classpath is not None
        return [
            self.jdk.java,
            *(f"-Xms{self._heap[0]}m", f"-Xmx{self._heap[1]}m"),
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            "-cp",
            self._classpath,
        ]

    @property
    def _heap(self) -> tuple[int, int]:
        return self.cluster.heap_mb if self.cluster is not None else HEAP_MB

    def _env(self) -> dict[str, str]:
        # Options meant for other JVMs must not reach this one.
        skip = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS")
        return {key: value for key, value in os.environ.items() if key not in skip}

    async def _format_storage(self) -> None:
        cluster_id = new_cluster_id()
        command = [
            *self._java(),
            "kafka.tools.StorageTool",
            "format",
            # A cluster's voters are fixed in its properties (controller.quorum.voters).
            *(() if self.cluster is not None else ("--standalone",)),
            "--ignore-formatted",
            "-t",
            self.cluster.cluster_id if self.cluster is not None else cluster_id,
            "-c",
            str(self.properties),
            *(self.users.format_arguments() if self.users is not None else ()),
        ]
        process = await asyncio.create_subprocess_exec(
            *command,
            env=self._env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), STORAGE_FORMAT_TIMEOUT_S)
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        if process.returncode != 0:
            raise RuntimeError(
                "formatting Kafka's storage failed: " + output.decode(errors="replace")[-2000:]
            )
        self.log.info("kafka storage formatted", data_dir=str(self.data_dir), cluster_id=cluster_id)

    def _server_properties(self) -> str:
        controller = f"{self.host}:{self.controller_port}"
        # With SASL both listeners authenticate; the client one is named after its protocol.
        listener = "SASL_PLAINTEXT" if self.users is not None else "PLAINTEXT"
        replicas = str(self.cluster.replicas if self.cluster is not None else 1)
        quorum = (
            {"controller.quorum.voters": self.cluster.voters}
            if self.cluster is not None
            else {"controller.quorum.bootstrap.servers": controller}
        )
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.cluster.node_id if self.cluster is not None else 1),
            **quorum,
            "listeners": f"{listener}://{self.bootstrap_servers},CONTROLLER://{controller}",
            "advertised.listeners": f"{listener}://{self.bootstrap_servers}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": listener,
            "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:{listener}",
            "log.dirs": str(self.data_dir),
            # Every internal topic on every node (one replica on a single node).
            "default.replication.factor": replicas,
            "min.insync.replicas": str(self.min_insync_replicas),
            "offsets.topic.replication.factor": replicas,
            "offsets.topic.num.partitions": "8",
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": str(self.min_insync_replicas),
            "transaction.state.log.num.partitions": "4",
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": str(self.min_insync_replicas),
            # Topics come from topics.yaml (the launcher creates them); a typo must fail.
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            # A restarted node waits for its previous registration to expire (9 s by default)
            # before it serves again: kept short, a SIGKILLed broker is back in seconds.
            "broker.session.timeout.ms": "3000",
            "broker.heartbeat.interval.ms": "1000",
            # Few threads: two cores shared with the whole system.
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "num.replica.fetchers": "1",
            "log.cleaner.threads": "1",
            "log.retention.check.interval.ms": "60000",
            "controlled.shutdown.enable": "true",
            **(self.users.server_properties() if self.users is not None else {}),
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())
