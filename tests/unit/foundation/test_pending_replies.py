"""Replies reach their waiter; late ones and ones answering another request are dropped."""

from __future__ import annotations

import asyncio

import pytest

from ingress.replies import LATE_REPLIES, MISMATCHED_REPLIES, PendingReplies
from schemas.envelope import Reply

REQUEST = ("payment-requests", "mobi:1")


async def test_a_reply_resolves_the_registered_waiter() -> None:
    pending = PendingReplies()
    future = pending.register("c-1", *REQUEST)
    assert pending.resolve("c-1", Reply.success({"x": 1}), REQUEST)
    assert (await asyncio.wait_for(future, 1)).result == {"x": 1}
    assert len(pending) == 0


async def test_a_reply_nobody_waits_for_is_counted_as_late() -> None:
    pending = PendingReplies()
    pending.register("c-2", *REQUEST)
    pending.discard("c-2")
    before = LATE_REPLIES._value.get()
    assert not pending.resolve("c-2", Reply.success({}), REQUEST)
    assert LATE_REPLIES._value.get() == before + 1


@pytest.mark.parametrize(
    "answers",
    [
        ("payment-requests", "mobi:2"),  # another payment's reply
        ("probe-requests", "mobi:1"),  # another kind of request
        (None, None),  # a reply that does not say what it answers
    ],
)
async def test_a_reply_answering_another_request_is_dropped_and_its_waiter_keeps_waiting(
    answers: tuple[str | None, str | None],
) -> None:
    pending = PendingReplies()
    future = pending.register("c-4", *REQUEST)
    before = MISMATCHED_REPLIES._value.get()
    assert not pending.resolve("c-4", Reply.success({"wrong": True}), answers)
    assert MISMATCHED_REPLIES._value.get() == before + 1
    assert not future.done()
    assert pending.resolve("c-4", Reply.success({"right": True}), REQUEST)
    assert (await asyncio.wait_for(future, 1)).result == {"right": True}


async def test_a_correlation_id_cannot_wait_twice() -> None:
    pending = PendingReplies()
    pending.register("c-3", *REQUEST)
    with pytest.raises(ValueError):
        pending.register("c-3", *REQUEST)
