"""Mobi partner payments API (contract 2.1): the Mobi adapter.

Translates Mobi's bodies (integer transaction ids) to the partner-neutral
operations of `ingress.payment_requests` and their results back; nothing else
here is Mobi-specific.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from ingress.dependencies import DatabaseDep, GatewayDep
from ingress.partners import partner_config, require_partner
from ingress.payment_requests import PartnerPayments
from schemas.errors import ErrorBody
from schemas.payments import (
    MobiPayment,
    MobiPaymentRequest,
    MobiRefund,
    MobiRefundRequest,
    PaymentResult,
    RefundResult,
)

PARTNER = "mobi"

router = APIRouter(
    prefix="/mobi/v1/payments",
    tags=["partner payments (Mobi)"],
    responses={
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)

Mobi = Annotated[str, Depends(require_partner(PARTNER))]
TransactionId = Annotated[int, Path(gt=0, le=2**63 - 1)]


async def _payments(
    request: Request, gateway: GatewayDep, database: DatabaseDep
) -> PartnerPayments:
    return PartnerPayments(gateway, database, partner_config(request))


Payments = Annotated[PartnerPayments, Depends(_payments)]


def _mobi_payment(result: PaymentResult) -> MobiPayment:
    return MobiPayment(
        transaction_id=int(result.transaction_id),
        payment_id=result.payment_id,
        status=result.status,
        decline_reason=result.decline_reason,
        amount=result.amount,
        currency=result.currency,
    )


def _mobi_refund(result: RefundResult) -> MobiRefund:
    return MobiRefund(
        refund_id=result.refund_id,
        transaction_id=int(result.transaction_id),
        amount=result.amount,
        refunded_total=result.refunded_total,
    )


@router.post("")
async def authorize(body: MobiPaymentRequest, partner: Mobi, payments: Payments) -> MobiPayment:
    """Authorize a purchase; held until final or PAYMENT_HOLD_TIMEOUT, then `pending`."""
    result = await payments.authorize(
        partner,
        str(body.transaction_id),
        qr_code=body.qr_code,
        amount=body.amount,
        currency=body.currency,
        merchant=body.merchant,
        terminal_id=body.terminal_id,
    )
    return _mobi_payment(result)


@router.get("/{transaction_id}")
async def status(transaction_id: TransactionId, partner: Mobi, payments: Payments) -> MobiPayment:
    return _mobi_payment(await payments.status(partner, str(transaction_id)))


@router.post("/{transaction_id}/cancel")
async def cancel(transaction_id: TransactionId, partner: Mobi, payments: Payments) -> MobiPayment:
    return _mobi_payment(await payments.cancel(partner, str(transaction_id)))


@router.post("/{transaction_id}/refunds")
async def refund(
    transaction_id: TransactionId, body: MobiRefundRequest, partner: Mobi, payments: Payments
) -> MobiRefund:
    result = await payments.refund(
        partner, str(transaction_id), refund_id=body.refund_id, amount=body.amount
    )
    return _mobi_refund(result)
