"""Empties the idle slot topics of the embedded broker so that it stays as fast as it starts.

With rotation on (messaging/rotation.py), a slot topic that is no longer written is emptied
(messaging/truncation.py) once:
- request slots: it has been idle for REQUEST_QUIET_S (every producer's send has landed or
  failed by then) and the processors' consumer group has committed every record in it;
- reply slots: it has been idle for all but the last REPLY_WINDOW_S of its idle time,
  longer than any ingress holds a request, so no reply in it can still be awaited;
and at least a second remains before it is written again. A slot whose records are not all
consumed in that window is left as it is and tried again the next time it is idle: nothing
unconsumed is ever deleted. "Consumed" is a commit exactly at the slot's end; a commit
beyond it (left by a consumer of a broker that lost its data) is not trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from launcher.logs import Log
from messaging.rotation import REPLY_WINDOW_S, Ring, TopicRotation
from messaging.topics import (
    declared_topics,
    reply_topic,
    reply_topic_partitions,
    rotated_topics,
)
from messaging.truncation import next_offsets, truncate_topic

REQUEST_QUIET_S = 6.0
MARGIN_S = 1.0
SWEEP_EVERY_S = 0.5


@dataclass(frozen=True)
class RotatedTopic:
    ring: Ring
    partitions: int
    consumer_group: str | None  # whose commits must cover a slot before it is emptied

    def quiet_after_s(self) -> float:
        if self.consumer_group is None:
            return (self.ring.slots - 1) * self.ring.period_s - REPLY_WINDOW_S
        return REQUEST_QUIET_S


class TopicJanitor:
    def __init__(
        self,
        bootstrap_servers: str,
        rotation: TopicRotation,
        consumer_group: str,
        ingress_instances: Callable[[], list[str]],
        log: Log,
    ) -> None:
        self._log = log
        self._bootstrap = bootstrap_servers
        self._rotation = rotation
        self._group = consumer_group
        self._ingress_instances = ingress_instances
        # slot topic -> the idle period it was emptied in, and its offsets then
        self._emptied: dict[str, tuple[float, dict[int, int]]] = {}
        # slot topics deleted but not yet back with their offsets: finished first, at once
        self._unfinished: dict[str, tuple[RotatedTopic, float, dict[int, int]]] = {}
        self.truncations = 0

    def topics(self) -> list[RotatedTopic]:
        rotated = [
            RotatedTopic(self._rotation.ring(spec.name), spec.partitions, self._group)
            for spec in declared_topics()
            if spec.name in rotated_topics()
        ]
        replies = [
            RotatedTopic(self._rotation.ring(reply_topic(i)), reply_topic_partitions(), None)
            for i in self._ingress_instances()
        ]
        return rotated + replies

    def forget(self) -> None:
        """The broker restarted empty: nothing emptied so far means anything now."""
        self._emptied.clear()
        self._unfinished.clear()

    async def run(self) -> None:
        while True:
            try:
                await self.sweep(time.time())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._log.warning("topic sweep failed", error=repr(exc))
            await asyncio.sleep(SWEEP_EVERY_S)

    async def sweep(self, now: float) -> None:
        for name, (unfinished, since, offsets) in list(self._unfinished.items()):
            await self._truncate(unfinished, name, since, offsets)
        for topic in self.topics():
            for slot, name in enumerate(topic.ring.names):
                idle_since = topic.ring.idle_since(slot, now)
                if idle_since is None or self._emptied.get(name, (None,))[0] == idle_since:
                    continue
                if now - idle_since < topic.quiet_after_s():
                    continue
                if topic.ring.next_written(slot, now) - now < MARGIN_S:
                    continue
                await self._empty(topic, name, idle_since)

    async def _empty(self, topic: RotatedTopic, name: str, idle_since: float) -> None:
        offsets = await next_offsets(self._bootstrap, name, topic.partitions)
        previous = self._emptied.get(name, (0.0, {}))[1]
        if offsets == previous or not any(offsets.values()):
            self._emptied[name] = (idle_since, offsets)  # nothing new since the last time
            return
        if topic.consumer_group is not None:
            committed = await self._committed(topic.consumer_group, name, topic.partitions)
            # Consumed means committed exactly at the end. A commit beyond the end was made
            # against another log (a broker that lost its data): it proves nothing.
            behind = [
                p
                for p, end in offsets.items()
                if end > previous.get(p, 0) and committed.get(p, -1) != end
            ]
            beyond = [p for p, end in offsets.items() if committed.get(p, -1) > end]
            if beyond:
                self._log.warning(
                    "committed offsets beyond the log end: not emptying",
                    topic=name,
                    partitions=beyond,
                )
            if behind:
                return  # not all consumed yet: try again in the next sweep
        # Nobody writes to an idle slot, so the offsets read above are still its ends.
        await self._truncate(topic, name, idle_since, offsets)

    async def _truncate(
        self, topic: RotatedTopic, name: str, idle_since: float, offsets: dict[int, int]
    ) -> None:
        previous = self._emptied.get(name, (0.0, {}))[1]
        began = time.monotonic()
        self._unfinished[name] = (topic, idle_since, offsets)
        await truncate_topic(self._bootstrap, name, topic.partitions, offsets)
        del self._unfinished[name]
        self._emptied[name] = (idle_since, offsets)
        self.truncations += 1
        freed = sum(end - previous.get(p, 0) for p, end in offsets.items())
        self._log.info(
            "topic emptied",
            topic=name,
            records=freed,
            took_ms=round((time.monotonic() - began) * 1000, 1),
        )

    async def _committed(self, group: str, topic: str, partitions: int) -> dict[int, int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            result = {}
            for p in range(partitions):
                offset = await consumer.committed(TopicPartition(topic, p))
                result[p] = -1 if offset is None else int(offset)
            return result
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
