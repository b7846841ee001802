"""Fake contractor-merch-payments: the HTTP face of `sandbox.merch_payments`."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.context import CorrelationIdDep, SandboxDep
from sandbox.merch_payments import payment_state
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentState,
    MerchRefund,
)

router = APIRouter(prefix="/internal/v1/payments")


@router.post("")
async def create_payment(
    body: CreateMerchPayment, sandbox: SandboxDep, correlation_id: CorrelationIdDep
) -> MerchPaymentState:
    return payment_state(await sandbox.payments.create(body, correlation_id))


@router.get("/{payment_id}")
async def get_payment(payment_id: str, sandbox: SandboxDep) -> MerchPaymentState:
    return payment_state(sandbox.payments.find(payment_id))


@router.post("/{payment_id}/cancel")
async def cancel_payment(
    payment_id: str, sandbox: SandboxDep, correlation_id: CorrelationIdDep
) -> MerchPaymentState:
    return payment_state(await sandbox.payments.cancel(payment_id, correlation_id))


@router.post("/{payment_id}/refunds")
async def refund_payment(
    payment_id: str, body: CreateMerchRefund, sandbox: SandboxDep
) -> MerchRefund:
    return sandbox.payments.refund(payment_id, body)
