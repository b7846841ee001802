"""Payments use cases with in-memory ports: no Kafka, no database, no HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from processors.payments.ports import ReplyAddress
from processors.peer_errors import PeerUnavailable
from schemas.envelope import Reply
from schemas.merch_payments import CreateMerchPayment, MerchPaymentEvent, MerchPaymentStatus
from schemas.payments import (
    AuthorizePayment,
    CancelPayment,
    Merchant,
    PaymentStatus,
    RefundPayment,
)
from tests.unit.payments.fakes import PEER, FakePaymentsService, World, make_world

CONFIRMED = MerchPaymentStatus.CONFIRMED
PENDING_ACCEPTANCE = MerchPaymentStatus.PENDING_ACCEPTANCE
DECLINED = MerchPaymentStatus.DECLINED


def payment_id_for(partner: str, transaction_id: str) -> str:
    """The ingress derives it; the core only keeps what the command says."""
    return f"{partner}-{transaction_id}"


def _authorize(tx: str = "9000001", **changes: Any) -> AuthorizePayment:
    command = AuthorizePayment(
        partner="mobi",
        transaction_id=tx,
        payment_id=payment_id_for("mobi", tx),
        qr_code="qr-secret",
        amount=10000,
        currency="RUB",
        merchant=Merchant(id="m-17", name="Shop 17", mcc="5411"),
        terminal_id="T-3",
        requested_at=datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
    )
    return command.model_copy(update=changes)


def _cancel(tx: str = "9000001") -> CancelPayment:
    return CancelPayment(partner="mobi", transaction_id=tx, payment_id=payment_id_for("mobi", tx))


def _refund(refund_id: str, amount: int, tx: str = "9000001") -> RefundPayment:
    return RefundPayment(partner="mobi", transaction_id=tx, refund_id=refund_id, amount=amount)


def _sender() -> ReplyAddress:
    return ReplyAddress("replies.ingress-1", uuid.uuid4().hex)


async def _waiting_for_the_driver() -> tuple[World, ReplyAddress]:
    """An authorization the driver has not answered yet: its partner is still waiting."""
    world = make_world(FakePaymentsService(PENDING_ACCEPTANCE))
    sender = _sender()
    assert await world.authorize(_authorize(), sender) is None
    return world, sender


def _result(reply: Reply | None) -> dict[str, Any]:
    assert reply is not None and reply.ok and reply.result is not None, reply
    return reply.result


def _error(reply: Reply | None) -> str:
    assert reply is not None and not reply.ok and reply.error is not None, reply
    return reply.error.code


def _event(
    world: World, payment_id: str, status: MerchPaymentStatus, reason: str | None = None
) -> MerchPaymentEvent:
    world.peer.set_status(payment_id, status, reason)
    return MerchPaymentEvent(
        event_id=uuid.uuid4().hex,
        payment_id=payment_id,
        status=status,
        decline_reason=reason,
        occurred_at=world.clock(),
    )


async def test_an_auto_confirmed_payment_is_approved_at_once() -> None:
    world = make_world()
    result = _result(await world.authorize(_authorize(), _sender()))
    assert result["status"] == "approved" and result["decline_reason"] is None
    assert result["payment_id"] == payment_id_for("mobi", "9000001")
    assert result["amount"] == 10000 and result["currency"] == "RUB"
    assert world.peer.count("create") == 1


@pytest.mark.parametrize(
    "reason",
    [
        "invalid_qr",
        "qr_expired",
        "insufficient_funds",
        "limit_exceeded",
        "contractor_blocked",
        "driver_rejected",
    ],
)
async def test_a_declined_payment_carries_the_services_reason(reason: str) -> None:
    world = make_world(FakePaymentsService(DECLINED, reason))
    result = _result(await world.authorize(_authorize(), _sender()))
    assert (result["status"], result["decline_reason"]) == ("declined", reason)


async def test_a_repeated_authorization_returns_the_first_payment_without_a_second_create() -> None:
    world = make_world()
    first = _result(await world.authorize(_authorize(), _sender()))
    again = _result(await world.authorize(_authorize(), _sender()))
    assert again == first
    assert world.peer.count("create") == 1


async def test_the_same_transaction_with_another_body_is_a_conflict() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    assert _error(await world.authorize(_authorize(amount=10001), _sender())) == (
        "idempotency_conflict"
    )


async def test_a_payment_awaiting_acceptance_is_answered_when_its_event_arrives() -> None:
    world = make_world(FakePaymentsService(PENDING_ACCEPTANCE))
    first, duplicate = _sender(), _sender()
    assert await world.authorize(_authorize(), first) is None
    assert await world.authorize(_authorize(), duplicate) is None
    assert world.peer.count("create") == 1
    payment_id = payment_id_for("mobi", "9000001")
    await world.on_event(_event(world, payment_id, CONFIRMED))
    for sender in (first, duplicate):
        [reply] = world.replier.to(sender.correlation_id)
        assert _result(reply)["status"] == "approved"
    # A late or repeated event changes nothing and answers nobody twice.
    await world.on_event(_event(world, payment_id, CONFIRMED))
    assert len(world.replier.sent) == 2


async def test_a_rejection_by_the_driver_declines_the_waiting_payment() -> None:
    world, sender = await _waiting_for_the_driver()
    payment_id = payment_id_for("mobi", "9000001")
    await world.on_event(_event(world, payment_id, DECLINED, "driver_rejected"))
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["decline_reason"] == "driver_rejected"


async def test_the_poll_finds_a_payment_whose_event_was_lost() -> None:
    world, sender = await _waiting_for_the_driver()
    payment_id = payment_id_for("mobi", "9000001")
    assert await world.poll_after(3) == 1  # still waiting
    assert world.replier.sent == []
    world.peer.set_status(payment_id, CONFIRMED)
    await world.poll_after(3)
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["status"] == "approved"


async def test_acceptance_timeout_declines_and_cancels_in_the_payments_service() -> None:
    world, sender = await _waiting_for_the_driver()
    await world.poll_after(91)
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["decline_reason"] == "acceptance_timeout"
    payment_id = payment_id_for("mobi", "9000001")
    assert world.peer.payments[payment_id].status is MerchPaymentStatus.CANCELLED
    assert not world.store.rows[payment_id].payment.cancel_owed


async def test_a_refused_connection_declines_with_payments_unavailable() -> None:
    world = make_world()
    world.peer.fail("create", PeerUnavailable(PEER, "create", "refused", request_not_sent=True))
    result = _result(await world.authorize(_authorize(), _sender()))
    assert result["decline_reason"] == "payments_unavailable"


async def test_an_unknown_create_outcome_stays_pending_until_the_poll_knows() -> None:
    world = make_world()
    world.peer.fail("create", PeerUnavailable(PEER, "create", "timeout"))
    sender = _sender()
    assert await world.authorize(_authorize(), sender) is None
    payment_id = payment_id_for("mobi", "9000001")
    assert world.store.rows[payment_id].payment.status is PaymentStatus.PENDING
    await world.poll_after(3)  # not found, but a create might still be on its way
    assert world.replier.sent == []
    await world.poll_after(8)
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["decline_reason"] == "payments_unavailable"


async def test_a_payment_created_but_whose_answer_was_lost_is_approved_by_the_poll() -> None:
    world = make_world()
    world.peer.lose_create_answer = True
    sender = _sender()
    assert await world.authorize(_authorize(), sender) is None
    await world.poll_after(8)
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["status"] == "approved"


async def test_a_redelivered_authorization_resumes_an_unfinished_one() -> None:
    world = make_world()
    world.peer.fail("create", PeerUnavailable(PEER, "create", "timeout"))
    await world.authorize(_authorize(), _sender())
    result = _result(await world.authorize(_authorize(), _sender()))
    assert result["status"] == "approved"
    assert world.peer.count("create") == 2  # the same idempotency key both times


async def test_a_redelivery_too_late_to_create_still_cancels_what_an_earlier_try_created() -> None:
    # A worker died after its create reached the service (debited); the command comes back
    # past the acceptance window, and the service's event is lost.
    world = make_world()
    world.peer.lose_create_answer = True
    await world.authorize(_authorize(), _sender())
    world.clock.advance(91)
    result = _result(await world.authorize(_authorize(), _sender()))
    assert (result["status"], result["decline_reason"]) == ("declined", "payments_unavailable")
    await world.poll_after(2)
    payment_id = payment_id_for("mobi", "9000001")
    assert world.peer.payments[payment_id].status is MerchPaymentStatus.CANCELLED
    assert not world.store.rows[payment_id].payment.cancel_owed


async def test_a_redelivery_refused_by_a_service_that_is_down_stays_pending_for_the_poll() -> None:
    # The first try's create landed (answer lost); the retry finds the service away.
    world = make_world()
    world.peer.lose_create_answer = True
    await world.authorize(_authorize(), _sender())
    world.peer.lose_create_answer = False
    world.peer.fail("create", PeerUnavailable(PEER, "create", "refused", request_not_sent=True))
    sender = _sender()
    assert await world.authorize(_authorize(), sender) is None
    await world.poll_after(8)  # the poll asks, and finds it confirmed
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["status"] == "approved"


async def test_a_confirmation_after_we_declined_is_cancelled_in_the_service() -> None:
    world = make_world()
    world.peer.fail("create", PeerUnavailable(PEER, "create", "timeout"))
    await world.authorize(_authorize(), _sender())
    await world.poll_after(8)  # declined payments_unavailable: the service did not know it
    payment_id = payment_id_for("mobi", "9000001")
    # ... and then a create that was stuck somewhere lands after all.
    world.peer.lose_create_answer = False
    await world.peer.create(
        CreateMerchPayment(
            payment_id=payment_id,
            qr_code="qr-secret",
            amount=10000,
            currency="RUB",
            partner="mobi",
            external_id="9000001",
        )
    )
    await world.on_event(_event(world, payment_id, CONFIRMED))
    await world.poll_after(1)
    assert world.peer.payments[payment_id].status is MerchPaymentStatus.CANCELLED
    assert world.store.rows[payment_id].payment.status is PaymentStatus.DECLINED


async def test_cancel_of_an_approved_payment_cancels_it_once_in_the_service() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    assert _result(await world.cancel(_cancel(), _sender()))["status"] == "cancelled"
    assert _result(await world.cancel(_cancel(), _sender()))["status"] == "cancelled"
    assert world.peer.count("cancel") == 1


async def test_cancel_of_a_waiting_payment_answers_its_authorization_cancelled() -> None:
    world, sender = await _waiting_for_the_driver()
    assert _result(await world.cancel(_cancel(), _sender()))["status"] == "cancelled"
    [reply] = world.replier.to(sender.correlation_id)
    assert _result(reply)["status"] == "cancelled"


async def test_cancel_of_a_declined_payment_is_refused() -> None:
    world = make_world(FakePaymentsService(DECLINED, "insufficient_funds"))
    await world.authorize(_authorize(), _sender())
    assert _error(await world.cancel(_cancel(), _sender())) == "payment_not_cancellable"


async def test_a_cancel_before_its_authorization_is_recorded_and_wins() -> None:
    world = make_world()
    cancelled = _result(await world.cancel(_cancel(), _sender()))
    assert cancelled["status"] == "cancelled"
    late = _result(await world.authorize(_authorize(), _sender()))
    assert late["status"] == "cancelled" and late["payment_id"] == cancelled["payment_id"]
    assert late["amount"] == 10000
    assert world.peer.count("create") == 0
    # The late authorization repeated, or with another body, is judged like any other.
    assert _result(await world.authorize(_authorize(), _sender()))["status"] == "cancelled"
    assert _error(await world.authorize(_authorize(amount=5), _sender())) == (
        "idempotency_conflict"
    )


async def test_a_cancel_the_service_cannot_take_now_is_retried_by_the_poll() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    world.peer.fail("cancel", PeerUnavailable(PEER, "cancel", "down"))
    assert _result(await world.cancel(_cancel(), _sender()))["status"] == "cancelled"
    payment_id = payment_id_for("mobi", "9000001")
    assert world.store.rows[payment_id].payment.cancel_owed
    await world.poll_after(3)
    assert world.peer.payments[payment_id].status is MerchPaymentStatus.CANCELLED
    assert not world.store.rows[payment_id].payment.cancel_owed


async def test_partial_and_full_refunds_up_to_the_amount() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    first = _result(await world.refund(_refund("r-1", 4000), _sender()))
    assert (first["status"], first["amount"], first["refunded_total"]) == ("succeeded", 4000, 4000)
    assert _error(await world.refund(_refund("r-2", 6001), _sender())) == ("refund_exceeds_payment")
    rest = _result(await world.refund(_refund("r-3", 6000), _sender()))
    assert rest["refunded_total"] == 10000


async def test_a_repeated_refund_id_is_answered_once_and_a_changed_one_is_a_conflict() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    first = _result(await world.refund(_refund("r-1", 4000), _sender()))
    assert _result(await world.refund(_refund("r-1", 4000), _sender())) == first
    assert world.peer.count("refund") == 1
    assert _error(await world.refund(_refund("r-1", 4001), _sender())) == ("idempotency_conflict")


async def test_refunds_of_unknown_or_unapproved_payments_are_refused() -> None:
    world = make_world(FakePaymentsService(DECLINED, "insufficient_funds"))
    assert _error(await world.refund(_refund("r-1", 1), _sender())) == "payment_not_found"
    await world.authorize(_authorize(), _sender())
    assert _error(await world.refund(_refund("r-1", 1), _sender())) == ("payment_not_refundable")


async def test_a_refund_the_service_did_not_confirm_is_safe_to_repeat() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    world.peer.fail("refund", PeerUnavailable(PEER, "refund", "down"))
    assert _error(await world.refund(_refund("r-1", 4000), _sender())) == ("payments_unavailable")
    # The amount stays held: another refund cannot take it meanwhile.
    assert _error(await world.refund(_refund("r-2", 6001), _sender())) == ("refund_exceeds_payment")
    again = _result(await world.refund(_refund("r-1", 4000), _sender()))
    assert again["refunded_total"] == 4000


async def test_the_poll_finishes_a_refund_nobody_repeated() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    world.peer.fail("refund", PeerUnavailable(PEER, "refund", "down"))
    await world.refund(_refund("r-1", 4000), _sender())
    await world.poll_after(3)
    payment_id = payment_id_for("mobi", "9000001")
    assert world.store.rows[payment_id].payment.refunded_total == 4000


async def test_an_authorization_that_waited_past_its_window_is_not_created() -> None:
    world = make_world()
    world.clock.advance(120)
    result = _result(await world.authorize(_authorize(), _sender()))
    assert result["decline_reason"] == "payments_unavailable"
    assert world.peer.count("create") == 0


async def test_an_event_for_a_state_just_reached_here_needs_no_database_work() -> None:
    world = make_world()
    await world.authorize(_authorize(), _sender())
    payment_id = payment_id_for("mobi", "9000001")
    del world.store.rows[payment_id]  # any database read would now find nothing
    await world.on_event(_event(world, payment_id, CONFIRMED))
    assert world.replier.sent == []


async def test_a_confirmation_for_a_payment_declined_here_is_still_compensated() -> None:
    world = make_world(FakePaymentsService(DECLINED, "insufficient_funds"))
    await world.authorize(_authorize(), _sender())
    payment_id = payment_id_for("mobi", "9000001")
    await world.on_event(_event(world, payment_id, CONFIRMED))
    assert world.store.rows[payment_id].payment.cancel_owed
