"""Faust agents of the payments capability (topic -> use case), and the status poll.

`payment-requests` carries partner commands (answered on their reply topic);
`merch-payment-events` carries the payments service's status changes. Both are
consumed concurrently by key (processors/keyed_concurrency.py: one payment's messages
in order, different payments at once), and a payment waiting for its driver holds
nothing: its reply address is kept with the row and answered later.
The use cases come from `processors.wiring` (built by `processors.bootstrap`),
which also schedules `poll_payments`.
"""

from __future__ import annotations

import structlog
from faust.types import StreamT

from messaging.topics import MERCH_PAYMENT_EVENTS, PAYMENT_REQUESTS
from processors.app import app, consume, source_topic
from processors.change_cause import caused_by
from processors.database_errors import is_unavailable
from processors.delivery import Incoming
from processors.payments.ports import ReplyAddress
from processors.wiring import wiring
from schemas.envelope import Reply
from schemas.merch_payments import MerchPaymentEvent
from schemas.payments import AuthorizePayment, CancelPayment, PaymentCommand

log = structlog.get_logger(__name__)

payment_requests = source_topic(PAYMENT_REQUESTS)
merch_payment_events = source_topic(MERCH_PAYMENT_EVENTS)


async def handle_command(message: Incoming) -> Reply | None:
    command = PaymentCommand.model_validate_json(message.value).root
    sender = None
    if message.reply_to is not None and message.correlation_id is not None:
        sender = ReplyAddress(message.reply_to, message.correlation_id)
    use_cases = wiring.use_cases.payments
    # A database that is away is answered `unavailable` by Delivery (database_errors.py).
    if isinstance(command, AuthorizePayment):
        with caused_by("authorize"):
            return await use_cases.authorize(command, sender)
    if isinstance(command, CancelPayment):
        with caused_by("cancel"):
            return await use_cases.cancel(command, sender)
    with caused_by("refund"):
        return await use_cases.refund(command, sender)


async def handle_event(message: Incoming) -> None:
    event = MerchPaymentEvent.model_validate_json(message.value)
    try:
        with caused_by("status_event"):
            await wiring.use_cases.payments.on_event(event)
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


async def poll_payments() -> None:
    """Lost events, unknown outcomes, acceptance deadlines, cancels and refunds owed."""
    if not wiring.ready:
        return
    try:
        with caused_by("poll"):
            handled = await wiring.use_cases.payments.poll_once()
    except Exception as exc:
        log.warning("payment_poll_round_failed", error=type(exc).__name__)
        return
    if handled:
        log.debug("payment_poll_round", handled=handled)
