"""Replies reach their waiter; late ones are counted and dropped."""

from __future__ import annotations

import asyncio

import pytest

from ingress.replies import LATE_REPLIES, PendingReplies
from schemas.envelope import Reply


async def test_a_reply_resolves_the_registered_waiter() -> None:
    pending = PendingReplies()
    future = pending.register("c-1")
    assert pending.resolve("c-1", Reply.success({"x": 1}))
    assert (await asyncio.wait_for(future, 1)).result == {"x": 1}
    assert len(pending) == 0


async def test_a_reply_nobody_waits_for_is_counted_as_late() -> None:
    pending = PendingReplies()
    pending.register("c-2")
    pending.discard("c-2")
    before = LATE_REPLIES._value.get()
    assert not pending.resolve("c-2", Reply.success({}))
    assert LATE_REPLIES._value.get() == before + 1


async def test_a_correlation_id_cannot_wait_twice() -> None:
    pending = PendingReplies()
    pending.register("c-3")
    with pytest.raises(ValueError):
        pending.register("c-3")
