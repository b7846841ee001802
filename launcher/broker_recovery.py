"""What the launcher does when its embedded broker dies and is brought back.

Kafka keeps its data on disk: once it listens again its clients reconnect by themselves
(topics are checked, nothing restarted). Tansu comes back empty, so no client of the old
broker may ever reach the new one: when it dies, ingress and workers are frozen (SIGSTOP)
before the new broker is spawned; once it listens and the topics are recreated they are
killed where they stand and started afresh. A frozen client never runs another
instruction, so it cannot commit the old broker's offsets to the new one (offsets beyond
the new log's end) or write before the topics exist.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from launcher.broker_choice import BrokerEngine
from launcher.config import StackConfig
from launcher.logs import Log
from launcher.ports import wait_for_port
from launcher.supervisor import ChildProcess, signal_group

BROKER_RECOVERY_GRACE = 5.0  # stop grace for Kafka clients restarted after a broker restart


class BrokerRecovery:
    def __init__(
        self,
        broker: BrokerEngine | None,
        config: StackConfig,
        log: Log,
        *,
        clients: Callable[[], list[ChildProcess]],
        recreate_topics: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._broker = broker
        self._config = config
        self._log = log
        self._clients = clients
        self._recreate_topics = recreate_topics
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._frozen = False  # Kafka clients SIGSTOPped while Tansu is away
        self.recoveries = 0

    async def cancel(self) -> None:
        """Stop any recovery under way (the stack is stopping)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def broker_died(self, broker: ChildProcess) -> None:
        """Before a new broker is spawned: Tansu's clients are frozen (Kafka's wait)."""
        if self._broker is None or self._broker.keeps_data:
            return
        frozen = []
        for child in self._clients():
            if child.pid is not None:
                signal_group(child.pid, signal.SIGSTOP)
                frozen.append(child.name)
        self._frozen = True
        self._log.warning("broker died: its clients are frozen until it is back", frozen=frozen)

    async def broker_respawned(self, broker: ChildProcess) -> None:
        """The new broker runs: Kafka's clients reconnect; Tansu's get topics and restarts."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            async with self._lock:
                if self._broker is not None and self._broker.keeps_data:
                    await self._back_with_data(broker)
                else:
                    await self._back_empty(broker)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._log.error("broker recovery failed", error=repr(exc))
        finally:
            self._tasks.discard(task)

    async def _back_with_data(self, broker: ChildProcess) -> None:
        began = time.monotonic()
        self._log.warning(
            "broker restarted with its data on disk: clients reconnect by themselves",
            pid=broker.pid,
        )
        await wait_for_port(self._config.broker_port, self._config.host, within=60)
        await self._recreate_topics()  # checks that they are all there
        self.recoveries += 1
        self._log.info("broker recovered", took_s=round(time.monotonic() - began, 2), restarted=[])

    async def _back_empty(self, broker: ChildProcess) -> None:
        began = time.monotonic()
        self._log.warning(
            "broker restarted with no topics, offsets or consumer groups: "
            "recreating topics, restarting ingress and workers",
            pid=broker.pid,
        )
        await wait_for_port(self._config.broker_port, self._config.host, within=30)
        await self._recreate_topics()
        clients = self._clients()
        grace = min(self._config.stop_grace, BROKER_RECOVERY_GRACE)
        # Frozen clients are killed where they stand: let run, they would reach the new
        # broker with the old one's offsets.
        kill, self._frozen = self._frozen, False
        await asyncio.gather(
            *(child.restart("the broker restarted", grace, kill=kill) for child in clients)
        )
        self.recoveries += 1
        self._log.info(
            "broker recovered",
            took_s=round(time.monotonic() - began, 2),
            restarted=[child.name for child in clients],
        )
