"""The payments' `Replier` port over the worker's reply producer (`Delivery`)."""

from __future__ import annotations

from messaging.topics import PAYMENT_REQUESTS
from processors.delivery import Delivery
from processors.payments.ports import ReplyAddress
from schemas.envelope import Reply


class DeliveryReplier:
    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    async def reply(self, address: ReplyAddress, reply: Reply) -> None:
        # A kept address belongs to a command on payment-requests keyed
        # `partner:transaction_id`, which the payment's result names; the ingress
        # checks a reply against the request it answers.
        result = reply.result or {}
        key = f"{result.get('partner')}:{result.get('transaction_id')}"
        await self._delivery.reply(
            address.reply_to,
            address.correlation_id,
            reply,
            request_topic=PAYMENT_REQUESTS,
            request_key=key,
        )
