"""Concurrent by key, ordered per key, bounded, and a commit point that never passes
unfinished work: the mechanism every agent runs its messages through, without Kafka."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from processors.keyed_concurrency import KeyedConcurrency, PartitionProgress

P0, P1 = ("t", 0), ("t", 1)


class Gate:
    """Work that records when it starts and ends, and ends only when released."""

    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> None:
        self.log.append(f"start {self.name}")
        self.started.set()
        await self.release.wait()
        self.log.append(f"end {self.name}")


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def release_and_close(keyed: KeyedConcurrency, *gates: Gate) -> None:
    """Lets every gate's work end, then closes the lanes within a second."""
    for gate in gates:
        gate.release.set()
    await keyed.close(1)


Message = tuple[tuple[str, int], int, bytes]  # partition, offset, key


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ((P0, 0, b"key-a"), (P0, 1, b"key-b")),
        ((P0, 0, b"k"), (P1, 0, b"k")),
    ],
    ids=["different keys", "the same key on another partition"],
)
async def test_messages_in_different_lanes_run_at_the_same_time(
    first: Message, second: Message
) -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    a, b = Gate(log, "a"), Gate(log, "b")
    await keyed.submit(*first, a)
    await keyed.submit(*second, b)
    await asyncio.wait_for(asyncio.gather(a.started.wait(), b.started.wait()), 1)
    assert keyed.in_flight == 2
    await release_and_close(keyed, a, b)


async def test_messages_with_the_same_key_run_one_after_another_in_offset_order() -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    gates = [Gate(log, str(i)) for i in range(3)]
    for offset, gate in enumerate(gates):
        await keyed.submit(P0, offset, b"same", gate)
    await settle()
    assert log == ["start 0"]
    for gate in gates:
        gate.release.set()
        await settle()
    assert log == ["start 0", "end 0", "start 1", "end 1", "start 2", "end 2"]


async def test_a_partition_runs_no_more_than_its_bound_and_holds_up_no_other() -> None:
    keyed, log = KeyedConcurrency(100, 2), list[str]()
    gates = [Gate(log, str(i)) for i in range(3)]
    for offset, gate in enumerate(gates):  # the caller (an agent's stream) never waits
        assert await asyncio.wait_for(keyed.submit(P0, offset, f"k{offset}".encode(), gate), 1)
    other = Gate(log, "other")
    await asyncio.wait_for(keyed.submit(P1, 0, b"d", other), 1)  # the stream goes on
    await settle()
    assert not gates[2].started.is_set()  # over P0's bound: waits in its own task
    assert other.started.is_set()
    assert keyed.committable(P0) == 0
    gates[0].release.set()
    await asyncio.wait_for(gates[2].started.wait(), 1)
    await release_and_close(keyed, *gates, other)


async def test_the_worker_takes_no_more_than_its_bound_across_partitions() -> None:
    keyed, log = KeyedConcurrency(2, 10), list[str]()
    gates = [Gate(log, str(i)) for i in range(3)]
    await keyed.submit(P0, 0, b"a", gates[0])
    await keyed.submit(P1, 0, b"b", gates[1])
    third = asyncio.create_task(keyed.submit(("t", 2), 0, b"c", gates[2]))
    await settle()
    assert not third.done() and keyed.in_flight == 2
    gates[1].release.set()
    await asyncio.wait_for(third, 1)
    await release_and_close(keyed, *gates)


async def test_the_commit_point_stays_at_the_lowest_unfinished_offset() -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    gates = {offset: Gate(log, str(offset)) for offset in (5, 6, 7)}
    assert keyed.committable(P0) is None  # nothing taken: nothing to commit
    for offset, gate in gates.items():
        await keyed.submit(P0, offset, f"k{offset}".encode(), gate)
    assert keyed.committable(P0) == 5
    gates[6].release.set()
    gates[7].release.set()
    await settle()
    assert keyed.committable(P0) == 5  # 6 and 7 are done, 5 is not
    gates[5].release.set()
    await settle()
    assert keyed.committable(P0) == 8


def test_the_commit_point_ignores_gaps_in_the_log() -> None:
    progress = PartitionProgress(10)
    for offset in (12, 13, 20):  # 14..19: a control batch, never delivered
        progress.take(offset)
    progress.finish(20)
    progress.finish(12)
    assert progress.committable() == 13
    progress.finish(13)
    assert progress.committable() == 21


async def test_a_failing_work_still_finishes_and_lets_its_key_go_on() -> None:
    keyed, finished = KeyedConcurrency(10, 10), list[str]()

    async def boom() -> None:
        raise RuntimeError("handler broke")

    async def fine() -> None:
        finished.append("fine")

    await keyed.submit(P0, 0, b"k", boom, on_finished=lambda: finished.append("acked 0"))
    await keyed.submit(P0, 1, b"k", fine, on_finished=lambda: finished.append("acked 1"))
    await settle()
    assert finished == ["acked 0", "fine", "acked 1"]
    assert keyed.committable(P0) == 2


async def test_a_revoked_partition_is_not_committed_and_its_waiting_message_not_run() -> None:
    keyed, log = KeyedConcurrency(10, 1), list[str]()
    running, waiting = Gate(log, "running"), Gate(log, "waiting")
    acked: list[int] = []
    await keyed.submit(P0, 0, b"a", running)
    await keyed.submit(P0, 1, b"b", waiting, on_finished=lambda: acked.append(1))
    await settle()
    keyed.forget([P0])
    assert keyed.committable(P0) is None
    running.release.set()  # the old work ends after the revocation...
    await asyncio.wait_for(_until(lambda: keyed.in_flight == 0), 1)
    assert not waiting.started.is_set()  # ...and the next is left for the owner
    assert acked == [] and keyed.committable(P0) is None


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.01)


async def test_work_redelivered_after_a_revocation_runs_after_the_old_work_of_its_key() -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    old, again = Gate(log, "old"), Gate(log, "again")
    await keyed.submit(P0, 7, b"k", old)
    await settle()
    keyed.forget([P0])
    await keyed.submit(P0, 7, b"k", again)  # the partition came back; 7 is read again
    await settle()
    assert log == ["start old"]
    old.release.set()
    again.release.set()
    await settle()
    assert log == ["start old", "end old", "start again", "end again"]
    assert keyed.committable(P0) == 8


async def test_a_message_no_longer_ours_after_the_wait_is_not_started() -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    gate = Gate(log, "stale")
    assert await keyed.submit(P0, 3, b"k", gate, still_ours=lambda: False) is False
    await settle()
    assert log == [] and keyed.committable(P0) is None


async def test_closing_cancels_what_outlives_the_grace_and_does_not_commit_past_it() -> None:
    keyed, log = KeyedConcurrency(10, 10), list[str]()
    quick, stuck = Gate(log, "quick"), Gate(log, "stuck")
    acked: list[int] = []
    await keyed.submit(P0, 0, b"s", stuck, on_finished=lambda: acked.append(0))
    await keyed.submit(P0, 1, b"q", quick, on_finished=lambda: acked.append(1))
    quick.release.set()
    await keyed.close(0.05)
    assert acked == [1]
    assert keyed.committable(P0) == 0
    assert await keyed.submit(P0, 2, b"q", Gate(log, "late")) is False


@pytest.mark.parametrize("bounds", [(0, 1), (1, 0)])
def test_bounds_below_one_are_refused(bounds: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        KeyedConcurrency(*bounds)


async def test_many_keys_many_messages_keep_per_key_order_and_commit_everything() -> None:
    keyed = KeyedConcurrency(8, 4)
    seen: dict[bytes, list[int]] = {}

    def work(key: bytes, offset: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.sleep(0.001 * (offset % 3))
            seen.setdefault(key, []).append(offset)

        return run

    for offset in range(200):
        key = f"k{offset % 7}".encode()
        await keyed.submit(P0, offset, key, work(key, offset))
    await keyed.close(5)
    assert all(offsets == sorted(offsets) for offsets in seen.values())
    assert sum(len(offsets) for offsets in seen.values()) == 200
    assert keyed.committable(P0) == 200
