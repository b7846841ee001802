"""The partner-neutral payments operations of the ingress, for every partner adapter.

Each publishes a command to `payment-requests` keyed `partner:transaction_id` (so a
cancel or refund is ordered after its authorization) and waits for the reply. A
partner adapter only translates its bodies to and from these.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel

from ingress.database import Database
from ingress.errors import ApiError
from ingress.kafka_gateway import BrokerUnavailable, KafkaGateway, ReplyTimeout
from ingress.partners import PartnerConfig
from ingress.payments_view import read_payment, read_succeeded_refund
from messaging.topics import PAYMENT_REQUESTS
from schemas.envelope import Reply
from schemas.payments import (
    AuthorizePayment,
    CancelPayment,
    Merchant,
    PaymentResult,
    PaymentStatus,
    RefundPayment,
    RefundResult,
)

_PAYMENT_ID_NAMESPACE = uuid.UUID("6f1c1b9e-2c44-4b8e-9d0e-6d3c8b6f2a11")


def payment_id_for(partner: str, transaction_id: str) -> str:
    """Our payment id for a partner's transaction: the same on every retry and instance."""
    return uuid.uuid5(_PAYMENT_ID_NAMESPACE, f"{partner}:{transaction_id}").hex


def message_key(partner: str, transaction_id: str) -> str:
    return f"{partner}:{transaction_id}"


class PartnerPayments:
    """What a partner adapter calls; one per request (cheap: it only holds references)."""

    def __init__(self, gateway: KafkaGateway, database: Database, config: PartnerConfig) -> None:
        self._gateway = gateway
        self._database = database
        self._config = config

    async def authorize(
        self,
        partner: str,
        transaction_id: str,
        *,
        qr_code: str,
        amount: int,
        currency: str,
        merchant: Merchant,
        terminal_id: str | None,
    ) -> PaymentResult:
        payment_id = payment_id_for(partner, transaction_id)
        command = AuthorizePayment(
            partner=partner,
            transaction_id=transaction_id,
            payment_id=payment_id,
            qr_code=qr_code,
            amount=amount,
            currency=currency,
            merchant=merchant,
            terminal_id=terminal_id,
            requested_at=datetime.now(UTC),
        )
        reply = await self._request(command, partner, transaction_id)
        if reply is None:  # held long enough: answer what is known now
            current = await read_payment(self._database, partner, transaction_id)
            if current is not None:
                return current
            if not self._gateway.durable:
                # No worker has taken it and the broker keeps it in memory only: it may
                # die with the broker, so it is not promised as pending (outcome unknown).
                raise ApiError.unavailable(
                    "The authorization is not taken yet; repeat it with the same transaction_id."
                )
            return PaymentResult(
                partner=partner,
                transaction_id=transaction_id,
                payment_id=payment_id,
                status=PaymentStatus.PENDING,
                amount=amount,
                currency=currency,
            )
        return PaymentResult.model_validate(_result(reply))

    async def status(self, partner: str, transaction_id: str) -> PaymentResult:
        current = await read_payment(self._database, partner, transaction_id)
        if current is None:
            raise ApiError(404, "payment_not_found", "No payment with this transaction_id.")
        return current

    async def cancel(self, partner: str, transaction_id: str) -> PaymentResult:
        command = CancelPayment(
            partner=partner,
            transaction_id=transaction_id,
            payment_id=payment_id_for(partner, transaction_id),
        )
        reply = await self._request(command, partner, transaction_id)
        if reply is None:
            current = await read_payment(self._database, partner, transaction_id)
            if current is not None and current.status is PaymentStatus.CANCELLED:
                return current
            raise _timeout()
        return PaymentResult.model_validate(_result(reply))

    async def refund(
        self, partner: str, transaction_id: str, *, refund_id: str, amount: int
    ) -> RefundResult:
        command = RefundPayment(
            partner=partner, transaction_id=transaction_id, refund_id=refund_id, amount=amount
        )
        reply = await self._request(command, partner, transaction_id)
        if reply is None:
            done = await read_succeeded_refund(self._database, partner, refund_id)
            if done is not None and done.transaction_id == transaction_id and done.amount == amount:
                return done
            raise _timeout()
        return RefundResult.model_validate(_result(reply))

    async def _request(self, command: BaseModel, partner: str, transaction_id: str) -> Reply | None:
        """The processor's reply, or None when the hold timeout passed first."""
        with self._config.waiters.waiting(partner, transaction_id):
            try:
                return await self._gateway.request(
                    PAYMENT_REQUESTS,
                    message_key(partner, transaction_id),
                    command.model_dump_json().encode(),
                    timeout_s=self._config.hold_timeout_s,
                )
            except BrokerUnavailable as exc:
                raise ApiError.unavailable("The broker is unavailable.") from exc
            except ReplyTimeout:
                return None


def _result(reply: Reply) -> dict[str, object]:
    if not reply.ok or reply.result is None:
        if reply.error is None:
            raise ApiError(502, "invalid_reply", "The processor sent an empty reply.")
        raise ApiError.from_reply(reply.error)
    return reply.result


def _timeout() -> ApiError:
    return ApiError(504, "timeout", "No answer in time; repeating the request is safe.")
