"""Concurrent work inside a partition, in order per key, with a safe commit point.

Like Confluent's Parallel Consumer in key-order mode: messages with different keys run
at the same time, messages with the same key one after another in offset order. Messages
taken are bounded per worker: a caller that submits past that bound waits (and Faust,
whose buffer then fills, stops fetching: backpressure). How many of one partition's
messages run at once is bounded too, but a message over that bound waits in its own
task, never in the caller: an agent's stream carries all its partitions, and one busy
partition must not stop the others (head-of-line blocking).

For each partition the offset that may be committed is the lowest offset not finished,
or one past the highest submitted when all are finished: it never passes unfinished
work, whatever gaps the log has (control batches, compacted records). faust-streaming's
own computation can pass it (see `processors/kafka_transport.py`), so the consumer asks
this module instead.

No Kafka here: a partition is any hashable, a key any bytes, so the unit tests drive it
with plain coroutines.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Protocol

import structlog
from prometheus_client import Counter, Gauge

log = structlog.get_logger(__name__)

IN_FLIGHT = Gauge("messages_in_flight", "Messages taken and not yet finished, this worker")
BOUND_REACHED = Counter(
    "in_flight_bound_reached_total",
    "Times a message waited because a bound of work in flight was reached",
    ["bound"],
)

Work = Callable[[], Awaitable[None]]


class CommitPoints(Protocol):
    """What the consumer needs to know before it commits a partition."""

    def committable(self, partition: Hashable) -> int | None: ...


class PartitionProgress:
    """Offsets of one partition taken and not finished; where a commit may go."""

    def __init__(self, max_in_flight: int, key: Hashable = None) -> None:
        self.key = key  # the partition
        self.slots = asyncio.Semaphore(max_in_flight)
        self._unfinished: deque[int] = deque()  # ascending
        self._finished_early: set[int] = set()  # finished while a lower one is not
        self._next: int | None = None  # one past the highest offset taken

    @property
    def in_flight(self) -> int:
        return len(self._unfinished) - len(self._finished_early)

    def take(self, offset: int) -> None:
        if self._unfinished and offset < self._unfinished[-1]:
            bisect.insort(self._unfinished, offset)  # not expected from Kafka; kept correct
        else:
            self._unfinished.append(offset)
        self._next = max(self._next or 0, offset + 1)

    def finish(self, offset: int) -> None:
        if not self._unfinished or offset != self._unfinished[0]:
            self._finished_early.add(offset)
            return
        self._unfinished.popleft()
        while self._unfinished and self._unfinished[0] in self._finished_early:
            self._finished_early.remove(self._unfinished.popleft())

    def committable(self) -> int | None:
        """The next offset to read after a restart: nothing below it is unfinished."""
        if self._unfinished:
            return self._unfinished[0]
        return self._next


class KeyedConcurrency:
    """The one mechanism every agent runs its messages through (see the module's doc)."""

    def __init__(self, max_in_flight: int, max_in_flight_per_partition: int) -> None:
        if max_in_flight < 1 or max_in_flight_per_partition < 1:
            raise ValueError("bounds of work in flight must be at least 1")
        self._per_partition = max_in_flight_per_partition
        self._slots = asyncio.Semaphore(max_in_flight)
        self._partitions: dict[Hashable, PartitionProgress] = {}
        # The last submitted work of each (partition, key): the next one with that key waits
        # for it. Kept across a revocation, so work redelivered after the partition comes
        # back still runs after what is left of the old.
        self._tails: dict[tuple[Hashable, bytes], asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def committable(self, partition: Hashable) -> int | None:
        progress = self._partitions.get(partition)
        return progress.committable() if progress is not None else None

    def forget(self, partitions: Iterable[Hashable]) -> None:
        """Partitions revoked: their progress is no longer ours to commit.

        Work already running goes on to its end (every step is idempotent); it is redone
        by whoever gets the partition, from its last commit.
        """
        for partition in partitions:
            self._partitions.pop(partition, None)

    async def submit(
        self,
        partition: Hashable,
        offset: int,
        key: bytes | None,
        work: Work,
        *,
        on_finished: Callable[[], object] | None = None,
        still_ours: Callable[[], bool] = lambda: True,
    ) -> bool:
        """Take `work` once the worker's bound allows; False when it was not taken.

        Returns as soon as the work is taken, not finished: it runs when its key's earlier
        work has ended and its partition's bound allows. A message without a key has no
        order to keep. `still_ours` is asked after any wait: a message of a partition
        revoked meanwhile is left for its next owner. `on_finished` runs when the work
        has ended, failed included (not when it was cancelled or left).
        """
        if self._closing:
            return False
        if self._slots.locked():
            BOUND_REACHED.labels("worker").inc()
        await self._slots.acquire()
        progress = self._partitions.get(partition)
        if progress is None:
            progress = self._partitions[partition] = PartitionProgress(
                self._per_partition, partition
            )
        if self._closing or not still_ours():
            self._slots.release()
            return False
        progress.take(offset)
        previous: asyncio.Future[None] | None = None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane = (partition, key) if key is not None else None
        if lane is not None:
            previous = self._tails.get(lane)
            self._tails[lane] = done
        task = asyncio.create_task(
            self._run(work, progress, offset, previous, done, lane, on_finished, still_ours)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        IN_FLIGHT.inc()
        return True

    async def _run(
        self,
        work: Work,
        progress: PartitionProgress,
        offset: int,
        previous: asyncio.Future[None] | None,
        done: asyncio.Future[None],
        lane: tuple[Hashable, bytes] | None,
        on_finished: Callable[[], object] | None,
        still_ours: Callable[[], bool],
    ) -> None:
        finished = False
        slot = False
        try:
            if previous is not None:
                await asyncio.wait({previous})  # not `await previous`: never cancel it
            if progress.slots.locked():
                BOUND_REACHED.labels("partition").inc()
            await progress.slots.acquire()
            slot = True
            if self._partitions.get(progress.key) is not progress or not still_ours():
                return  # revoked while it waited: left for the partition's next owner
            try:
                await work()
            except Exception:
                # Delivery never raises; should anything else, the message must not hold
                # its partition's commit point forever.
                log.exception("keyed_work_failed", offset=offset)
            finished = True
        finally:
            if finished:
                progress.finish(offset)
                if on_finished is not None:
                    on_finished()
            if not done.done():
                done.set_result(None)
            if lane is not None and self._tails.get(lane) is done:
                del self._tails[lane]
            self._slots.release()
            if slot:
                progress.slots.release()
            IN_FLIGHT.dec()

    async def close(self, grace_s: float) -> None:
        """Take no more work; give what runs up to `grace_s` to finish, then cancel it.

        Cancelled work is not finished, so the commit point stays below it.
        """
        self._closing = True
        pending = set(self._tasks)
        if not pending:
            return
        _, still_running = await asyncio.wait(pending, timeout=grace_s)
        for task in still_running:
            task.cancel()
        if still_running:
            log.warning("in_flight_work_cancelled_at_stop", count=len(still_running))
            await asyncio.wait(still_running, timeout=1.0)
