"""One contract for the payments store, run against the in-memory fake the unit
tests use and against the PostgreSQL repository, so the fake is proven to behave
like the real thing (and the repository's SQL has direct tests).

PostgreSQL is the real embedded one with the project's migrations, in a stack of
its own with no worker (no poll to race these tests).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ingress.database import Database
from ingress.payments_view import read_payment, read_succeeded_refund
from launcher.stack import LocalStack, StackConfig
from processors.payments.domain import (
    APPROVED,
    CANCELLED,
    DECLINED,
    PENDING,
    PeerStatus,
    RefundStatus,
    sources_of,
)
from processors.payments.ports import (
    FinalMove,
    NewAuthorization,
    PaymentRepository,
    ReplyAddress,
)
from processors.payments.repository import PostgresPaymentRepository
from schemas.payments import DeclineReason, Merchant
from tests.unit.payments.fakes import FakeClock, FakePaymentRepository

pytestmark = pytest.mark.timeout(120)

LATER = timedelta(hours=1)


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run_dir: Path = tmp_path_factory.mktemp("store") / "run"
    log = (run_dir.parent / "stack.log").open("a", buffering=1)
    config = StackConfig.for_tests(
        run_dir, start_ingress=False, start_workers=False, start_sandbox=False, output=log
    )
    local = LocalStack(config).start()
    try:
        yield local.database_url
    finally:
        local.stop()
        log.close()


@dataclass
class Subject:
    repository: PaymentRepository
    now: datetime


@pytest.fixture(params=["fake", "postgres"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    now = datetime.now(UTC)
    if request.param == "fake":
        clock = FakeClock()
        clock.now = now
        yield Subject(FakePaymentRepository(clock), now)
        return
    pool = await asyncpg.create_pool(
        request.getfixturevalue("database_url"), min_size=1, max_size=2
    )
    try:
        yield Subject(PostgresPaymentRepository(pool), now)
    finally:
        await pool.close()


def _new(
    now: datetime, *, first_poll_at: datetime | None = None, waiter: ReplyAddress | None = None
) -> NewAuthorization:
    tx = uuid.uuid4().hex
    return NewAuthorization(
        payment_id=f"p-{tx}",
        partner="mobi",
        transaction_id=tx,
        request_hash=b"h" * 32,
        amount=10_000,
        currency="RUB",
        merchant=Merchant(id="m-17", name="Shop 17", mcc="5411"),
        terminal_id="T-3",
        acceptance_deadline=now + timedelta(seconds=90),
        first_poll_at=first_poll_at or now + LATER,
        waiter=waiter,
    )


def _waiter() -> ReplyAddress:
    return ReplyAddress("replies.ingress-1", uuid.uuid4().hex)


async def _approved(subject: Subject) -> Any:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(new)
        finalized = await tx.finalize(new.payment_id, FinalMove(APPROVED, sources_of(APPROVED)))
    assert finalized is not None
    return finalized.payment


async def test_one_payment_per_partner_transaction(subject: Subject) -> None:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        payment = await tx.insert_authorization(new)
        again = await tx.insert_authorization(new)
        by_tx = await tx.find(new.partner, new.transaction_id)
        by_id = await tx.find_by_id(new.payment_id)
    assert payment is not None and payment.status is PENDING and payment.authorized
    assert again is None
    assert by_tx == by_id and by_id is not None
    assert (by_id.amount, by_id.currency, by_id.peer_status) == (10_000, "RUB", None)


async def test_finalize_moves_once_and_hands_over_the_waiters(subject: Subject) -> None:
    first, second = _waiter(), _waiter()
    new = _new(subject.now, waiter=first)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(new)
        await tx.add_waiter(new.payment_id, second)
        await tx.add_waiter(new.payment_id, second)  # a redelivery adds nobody
        finalized = await tx.finalize(
            new.payment_id,
            FinalMove(
                DECLINED,
                sources_of(DECLINED),
                decline_reason=DeclineReason.INSUFFICIENT_FUNDS,
                peer_status=PeerStatus.DECLINED,
            ),
        )
        again = await tx.finalize(
            new.payment_id,
            FinalMove(
                DECLINED, sources_of(DECLINED), decline_reason=DeclineReason.INSUFFICIENT_FUNDS
            ),
        )
    assert finalized is not None
    assert finalized.waiters == [first, second]
    assert finalized.payment.status is DECLINED
    assert finalized.payment.decline_reason is DeclineReason.INSUFFICIENT_FUNDS
    assert finalized.payment.peer_status is PeerStatus.DECLINED
    assert again is None


async def test_an_approved_payment_can_only_be_cancelled(subject: Subject) -> None:
    payment = await _approved(subject)
    async with subject.repository.transaction() as tx:
        declined = await tx.finalize(
            payment.payment_id,
            FinalMove(
                DECLINED, sources_of(DECLINED), decline_reason=DeclineReason.PAYMENTS_UNAVAILABLE
            ),
        )
        cancelled = await tx.finalize(
            payment.payment_id,
            FinalMove(
                CANCELLED, frozenset({APPROVED}), cancel_owed=True, poll_at=subject.now + LATER
            ),
        )
    assert declined is None
    assert cancelled is not None and cancelled.payment.status is CANCELLED
    assert cancelled.payment.cancel_owed and cancelled.waiters == []


async def test_finalize_keeps_the_peer_status_it_is_not_given(subject: Subject) -> None:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(new)
        await tx.await_acceptance(new.payment_id, subject.now + LATER)
        finalized = await tx.finalize(
            new.payment_id,
            FinalMove(
                DECLINED, sources_of(DECLINED), decline_reason=DeclineReason.ACCEPTANCE_TIMEOUT
            ),
        )
    assert finalized is not None
    assert finalized.payment.peer_status is PeerStatus.PENDING_ACCEPTANCE


async def test_a_cancel_recorded_first_takes_the_authorization_once(subject: Subject) -> None:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        recorded = await tx.record_cancel_first(new.payment_id, new.partner, new.transaction_id)
        twice = await tx.record_cancel_first(new.payment_id, new.partner, new.transaction_id)
        inserted = await tx.insert_authorization(new)
        attached = await tx.attach_authorization(new.payment_id, new)
        attached_again = await tx.attach_authorization(new.payment_id, new)
    assert recorded is not None and recorded.status is CANCELLED and not recorded.authorized
    assert twice is None and inserted is None
    assert attached is not None and attached.status is CANCELLED and attached.authorized
    assert (attached.amount, attached.currency) == (10_000, "RUB")
    assert attached_again is None


async def test_acceptance_and_waiters_touch_only_pending_payments(subject: Subject) -> None:
    payment = await _approved(subject)
    async with subject.repository.transaction() as tx:
        await tx.await_acceptance(payment.payment_id, subject.now + LATER)
        await tx.add_waiter(payment.payment_id, _waiter())
        current = await tx.find_by_id(payment.payment_id)
        moved = await tx.finalize(payment.payment_id, FinalMove(CANCELLED, sources_of(CANCELLED)))
    assert current is not None and current.peer_status is None
    assert moved is not None and moved.waiters == []


async def test_a_cancel_is_owed_only_by_final_payments_and_settled_once(subject: Subject) -> None:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(new)
        await tx.owe_cancel(new.payment_id, subject.now + LATER)
        pending = await tx.find_by_id(new.payment_id)
        await tx.finalize(
            new.payment_id,
            FinalMove(
                DECLINED, sources_of(DECLINED), decline_reason=DeclineReason.PAYMENTS_UNAVAILABLE
            ),
        )
        await tx.owe_cancel(new.payment_id, subject.now + LATER)
        owed = await tx.find_by_id(new.payment_id)
        await tx.settle_cancel(new.payment_id, PeerStatus.CANCELLED)
        settled = await tx.find_by_id(new.payment_id)
    assert pending is not None and not pending.cancel_owed
    assert owed is not None and owed.cancel_owed
    assert settled is not None and not settled.cancel_owed
    assert settled.peer_status is PeerStatus.CANCELLED


async def test_claiming_due_payments_leases_them(subject: Subject) -> None:
    due = _new(subject.now, first_poll_at=subject.now - timedelta(seconds=1))
    later = _new(subject.now)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(due)
        await tx.insert_authorization(later)
        claimed = await tx.claim_due(1000, subject.now + LATER)
        claimed_again = await tx.claim_due(1000, subject.now + LATER)
    ids = {payment.payment_id for payment in claimed}
    assert due.payment_id in ids and later.payment_id not in ids
    assert due.payment_id not in {payment.payment_id for payment in claimed_again}


async def test_a_rescheduled_payment_is_due_again(subject: Subject) -> None:
    new = _new(subject.now)
    async with subject.repository.transaction() as tx:
        await tx.insert_authorization(new)
        await tx.reschedule(new.payment_id, subject.now - timedelta(seconds=1))
        claimed = await tx.claim_due(1000, subject.now + LATER)
        await tx.reschedule(new.payment_id, None)
    assert new.payment_id in {payment.payment_id for payment in claimed}


async def test_refunds_never_exceed_the_payment(subject: Subject) -> None:
    payment = await _approved(subject)
    at = subject.now + LATER
    async with subject.repository.transaction() as tx:
        first = await tx.reserve_refund(payment, payment.payment_id + "-1", 6000, at)
        too_much = await tx.reserve_refund(payment, payment.payment_id + "-2", 4001, at)
        same_id = await tx.reserve_refund(payment, payment.payment_id + "-1", 1, at)
        rest = await tx.reserve_refund(payment, payment.payment_id + "-3", 4000, at)
        missing = await tx.find_refund(payment.partner, payment.payment_id + "-2")
        held = await tx.find_by_id(payment.payment_id)
    assert first is not None and first.status is RefundStatus.PENDING
    assert too_much is None and same_id is None and missing is None
    assert rest is not None
    assert held is not None and (held.refunds_pending, held.refunded_total) == (10_000, 0)


async def test_a_refund_completes_or_fails_once(subject: Subject) -> None:
    payment = await _approved(subject)
    at = subject.now + LATER
    async with subject.repository.transaction() as tx:
        await tx.reserve_refund(payment, payment.payment_id + "-ok", 3000, at)
        await tx.reserve_refund(payment, payment.payment_id + "-bad", 2000, at)
        total = await tx.complete_refund(payment.partner, payment.payment_id + "-ok")
        total_again = await tx.complete_refund(payment.partner, payment.payment_id + "-ok")
        await tx.fail_refund(payment.partner, payment.payment_id + "-bad", "refund_exceeds_payment")
        await tx.fail_refund(payment.partner, payment.payment_id + "-bad", "payments_unavailable")
        ok = await tx.find_refund(payment.partner, payment.payment_id + "-ok")
        bad = await tx.find_refund(payment.partner, payment.payment_id + "-bad")
        after = await tx.find_by_id(payment.payment_id)
    assert total == total_again == 3000
    assert ok is not None and ok.status is RefundStatus.SUCCEEDED
    assert bad is not None and bad.status is RefundStatus.FAILED
    assert bad.failure_code == "refund_exceeds_payment"
    assert after is not None and (after.refunded_total, after.refunds_pending) == (3000, 0)


async def test_claiming_due_refunds_leases_pending_ones_only(subject: Subject) -> None:
    payment = await _approved(subject)
    past = subject.now - timedelta(seconds=1)
    async with subject.repository.transaction() as tx:
        await tx.reserve_refund(payment, payment.payment_id + "-due", 1000, past)
        await tx.reserve_refund(payment, payment.payment_id + "-done", 1000, past)
        await tx.complete_refund(payment.partner, payment.payment_id + "-done")
        await tx.reserve_refund(payment, payment.payment_id + "-later", 1000, subject.now + LATER)
        claimed = await tx.claim_due_refunds(1000, subject.now + LATER)
        claimed_again = await tx.claim_due_refunds(1000, subject.now + LATER)
        await tx.reschedule_refund(payment.partner, payment.payment_id + "-due", past)
        rescheduled = await tx.claim_due_refunds(1000, subject.now + LATER)
    mine = {(r.payment_id, r.refund_id) for r in claimed}
    assert mine >= {(payment.payment_id, payment.payment_id + "-due")}
    assert (payment.payment_id, payment.payment_id + "-done") not in mine
    assert (payment.payment_id, payment.payment_id + "-later") not in mine
    assert (payment.payment_id, payment.payment_id + "-due") not in {
        (r.payment_id, r.refund_id) for r in claimed_again
    }
    assert (payment.payment_id, payment.payment_id + "-due") in {
        (r.payment_id, r.refund_id) for r in rescheduled
    }


async def test_the_ingress_reads_what_the_processors_wrote_through_the_read_model(
    database_url: str,
) -> None:
    """The ingress's reads (the declared views) follow the processors' writes."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    database = Database(database_url, timeout_s=2.0)
    await database.start()
    try:
        subject = Subject(PostgresPaymentRepository(pool), datetime.now(UTC))
        payment = await _approved(subject)
        refund_id = payment.payment_id + "-r"
        async with subject.repository.transaction() as tx:
            await tx.reserve_refund(payment, refund_id, 2500, subject.now + LATER)
            before = await read_succeeded_refund(database, payment.partner, refund_id)
            await tx.complete_refund(payment.partner, refund_id)
        seen = await read_payment(database, payment.partner, payment.transaction_id)
        refund = await read_succeeded_refund(database, payment.partner, refund_id)
        async with database.connection() as connection:
            views = await connection.fetch(
                "SELECT table_name FROM information_schema.views WHERE table_schema = 'public'"
            )
    finally:
        await database.stop()
        await pool.close()
    assert before is None
    assert seen is not None and seen.status is APPROVED and seen.refunded_total == 2500
    assert refund is not None and refund.amount == 2500 and refund.refunded_total == 2500
    assert {"payment_status_view", "refund_status_view"} <= {row["table_name"] for row in views}


async def test_an_exhausted_pool_ends_the_wait_in_a_timeout_not_a_hang(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    repository = PostgresPaymentRepository(pool, acquire_timeout_s=0.3)
    try:
        async with pool.acquire():  # a stuck unit of work holds the only connection
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                async with repository.transaction() as tx:
                    await tx.find_by_id("nothing")
            waited = time.monotonic() - started
    finally:
        await pool.close()
    assert 0.25 <= waited < 2.0
