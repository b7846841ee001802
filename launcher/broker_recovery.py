"""What the launcher does when its embedded broker dies and is brought back.

Kafka keeps its data on disk: once it listens again its clients reconnect by themselves
(topics are checked, nothing restarted). Tansu comes back empty, so no client of the old
broker may ever reach the new one:

* workers are frozen (SIGSTOP) before the new broker is spawned and, once it listens
  and the topics are recreated, killed where they stand and started afresh. A frozen
  worker never runs another instruction, so it cannot commit the old broker's offsets
  to the new one (offsets beyond the new log's end).
* ingresses keep serving: told the broker is lost (SIGUSR1) they answer 503 at once and
  close their clients (ingress/kafka_gateway.py); they are frozen only while the new
  broker has no topics (a send the old producer still retries would create one with
  the wrong partitions), then told the new broker is there (SIGUSR2).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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
# Between telling the ingresses the broker is lost and freezing them: time to answer the
# requests that were waiting (503) before the new broker starts.
INGRESS_ANSWER_GRACE = 0.3


class BrokerRecovery:
    def __init__(
        self,
        broker: BrokerEngine | None,
        config: StackConfig,
        log: Log,
        *,
        workers: Callable[[], list[ChildProcess]],
        ingresses: Callable[[], list[ChildProcess]],
        recreate_topics: Callable[[], Coroutine[Any, Any, None]],
    ) -> None:
        self._broker = broker
        self._config = config
        self._log = log
        self._workers = workers
        self._ingresses = ingresses
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
        told = _signal_each(self._ingresses(), signal.SIGUSR1, group=False)
        frozen = _signal_each(self._workers(), signal.SIGSTOP)
        self._frozen = True
        await asyncio.sleep(INGRESS_ANSWER_GRACE)
        frozen += _signal_each(self._ingresses(), signal.SIGSTOP)
        self._log.warning(
            "broker died: its clients are frozen until it is back",
            frozen=frozen,
            told_broker_lost=told,
        )

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
        ingresses = _signal_each(self._ingresses(), signal.SIGCONT)
        _signal_each(self._ingresses(), signal.SIGUSR2, group=False)
        workers = self._workers()
        grace = min(self._config.stop_grace, BROKER_RECOVERY_GRACE)
        # Frozen workers are killed where they stand: let run, they would reach the new
        # broker with the old one's offsets.
        kill, self._frozen = self._frozen, False
        await asyncio.gather(
            *(child.restart("the broker restarted", grace, kill=kill) for child in workers)
        )
        self.recoveries += 1
        self._log.info(
            "broker recovered",
            took_s=round(time.monotonic() - began, 2),
            restarted=[child.name for child in workers],
            reopened=ingresses,
        )


def _signal_each(children: list[ChildProcess], signum: int, *, group: bool = True) -> list[str]:
    """Send `signum` to each running child (its process group, or the process alone)."""
    names = []
    for child in children:
        if child.pid is None:
            continue
        if group:
            signal_group(child.pid, signum)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signum)
        names.append(child.name)
    return names
