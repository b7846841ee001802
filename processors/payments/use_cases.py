"""The payments use cases, built together over one set of ports.

Every use case takes its ports as constructor arguments (no Kafka, HTTP or SQL
in them); the composition root (`processors.bootstrap`) passes the real adapters,
unit tests pass fakes. Replies: the request being handled gets the returned
`Reply` (None: it waits, and is answered later from the row's reply addresses);
other requests waiting on the same payment are answered through the `Replier`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from processors.payments.authorize import Authorize
from processors.payments.cancel import Cancel, SettleCancel
from processors.payments.context import PaymentContext
from processors.payments.finalizer import Finalizer, RecentlyFinal
from processors.payments.poll import StatusPoll
from processors.payments.ports import PaymentPorts, ReplyAddress
from processors.payments.refund import MakeRefund, SendRefund
from processors.payments.status_events import StatusEvents
from processors.payments.timing import Clock, Timing, utc_now
from schemas.envelope import Reply
from schemas.merch_payments import MerchPaymentEvent
from schemas.payments import AuthorizePayment, CancelPayment, RefundPayment

# What the agents call; a test may wrap any of them (the crash tests wrap authorize).
AuthorizeCase = Callable[[AuthorizePayment, ReplyAddress | None], Awaitable[Reply | None]]
CancelCase = Callable[[CancelPayment, ReplyAddress | None], Awaitable[Reply]]
RefundCase = Callable[[RefundPayment, ReplyAddress | None], Awaitable[Reply]]
EventCase = Callable[[MerchPaymentEvent], Awaitable[None]]
PollCase = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class PaymentUseCases:
    authorize: AuthorizeCase
    cancel: CancelCase
    refund: RefundCase
    on_event: EventCase
    poll_once: PollCase


def build_payment_use_cases(
    ports: PaymentPorts, timing: Timing, clock: Clock = utc_now
) -> PaymentUseCases:
    context = PaymentContext.of(ports, timing, clock)
    finalizer = Finalizer(context, RecentlyFinal())
    settle_cancel = SettleCancel(context)
    send_refund = SendRefund(context)
    return PaymentUseCases(
        authorize=Authorize(context, finalizer),
        cancel=Cancel(context, finalizer, settle_cancel),
        refund=MakeRefund(context, send_refund),
        on_event=StatusEvents(context, finalizer),
        poll_once=StatusPoll(context, finalizer, settle_cancel, send_refund),
    )
