"""The payments' `Replier` port over the worker's reply producer (`Delivery`)."""

from __future__ import annotations

from processors.delivery import Delivery
from processors.payments.ports import ReplyAddress
from schemas.envelope import Reply


class DeliveryReplier:
    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    async def reply(self, address: ReplyAddress, reply: Reply) -> None:
        await self._delivery.reply(address.reply_to, address.correlation_id, reply)
