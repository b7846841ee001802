"""Faust agents of the payments capability (topic -> service), and the status poll.

`payment-requests` carries partner commands (answered on their reply topic);
`merch-payment-events` carries the payments service's status changes. Both are
consumed concurrently by key (processors/keyed_concurrency.py: one payment's messages
in order, different payments at once), and a payment waiting for its driver holds
nothing: its reply address is kept with the row and answered later.
"""

from __future__ import annotations

import os

import structlog
from faust.types import StreamT

from messaging.topics import MERCH_PAYMENT_EVENTS, PAYMENT_REQUESTS
from processors.adapters.payments_service import HttpPaymentsService
from processors.app import Resources, app, consume, source_topic
from processors.database_errors import is_unavailable
from processors.delivery import Delivery, Incoming
from processors.payments.ports import ReplyAddress
from processors.payments.redaction import redact_command
from processors.payments.repository import PostgresPaymentRepository
from processors.payments.service import PaymentsCore, Timing
from processors.payments.settings import PaymentSettings
from schemas.envelope import Reply
from schemas.merch_payments import MerchPaymentEvent
from schemas.payments import AuthorizePayment, CancelPayment, PaymentCommand

log = structlog.get_logger(__name__)

settings = PaymentSettings()

payment_requests = source_topic(PAYMENT_REQUESTS)
merch_payment_events = source_topic(MERCH_PAYMENT_EVENTS)


class DeliveryReplier:
    """The `Replier` port over the worker's reply producer."""

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    async def reply(self, address: ReplyAddress, reply: Reply) -> None:
        await self._delivery.reply(address.reply_to, address.correlation_id, reply)


class _Holder:
    core: PaymentsCore | None = None


_holder = _Holder()


@app.resources.on_open
async def _build_core(resources: Resources) -> None:
    resources.delivery.redact_dead_letters(PAYMENT_REQUESTS, redact_command)
    _holder.core = PaymentsCore(
        PostgresPaymentRepository(resources.pool),
        HttpPaymentsService(
            resources.session, settings.payments_service_url, settings.payments_service_timeout
        ),
        DeliveryReplier(resources.delivery),
        Timing(
            acceptance_timeout=settings.acceptance_timeout,
            poll_interval=settings.poll_interval,
            create_grace=settings.create_grace,
            lease=settings.lease,
            poll_batch=settings.payment_poll_batch,
        ),
    )


def _core() -> PaymentsCore:
    if _holder.core is None:
        raise RuntimeError("the payments core is built when the worker's resources open")
    return _holder.core


async def handle_command(message: Incoming) -> Reply | None:
    command = PaymentCommand.model_validate_json(message.value).root
    sender = None
    if message.reply_to is not None and message.correlation_id is not None:
        sender = ReplyAddress(message.reply_to, message.correlation_id)
    # A database that is away is answered `unavailable` by Delivery (database_errors.py).
    if isinstance(command, AuthorizePayment):
        reply = await _core().authorize(command, sender)
        if reply is not None:
            _crash_point("before_reply")
        return reply
    if isinstance(command, CancelPayment):
        return await _core().cancel(command, sender)
    return await _core().refund(command, sender)


def _crash_point(point: str) -> None:
    """Test hook (PAYMENTS_CRASH_AT / PAYMENTS_CRASH_FILE, off by default): die here."""
    if settings.payments_crash_at != point or settings.payments_crash_file is None:
        return
    try:
        os.unlink(settings.payments_crash_file)
    except FileNotFoundError:
        return
    log.warning("payments_crash_point", point=point)
    os._exit(137)


async def handle_event(message: Incoming) -> None:
    event = MerchPaymentEvent.model_validate_json(message.value)
    try:
        await _core().on_event(event)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        # The status poll finds the payment's state once the database is back.
        log.warning("payment_event_skipped", error=type(exc).__name__)


@app.agent(payment_requests, isolated_partitions=True)
async def payment_commands(stream: StreamT[bytes]) -> None:
    await consume(app, stream, handle_command)


@app.agent(merch_payment_events, isolated_partitions=True)
async def payment_events(stream: StreamT[bytes]) -> None:
    await consume(app, stream, handle_event)


@app.timer(interval=settings.payment_poll_interval)  # type: ignore[untyped-decorator]
async def poll_payments() -> None:
    """Lost events, unknown outcomes, acceptance deadlines, cancels and refunds owed."""
    if _holder.core is None:
        return
    try:
        handled = await _holder.core.poll_once()
    except Exception as exc:
        log.warning("payment_poll_round_failed", error=type(exc).__name__)
        return
    if handled:
        log.debug("payment_poll_round", handled=handled)
