"""Fake contractor-merch-payments: the HTTP face of `sandbox.merch_payments`."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.context import CorrelationIdDep, SandboxDep
from sandbox.merch_payments import payment_answer
from sandbox.peer_models.contractor_merch_payments import (
    CreatePayment,
    CreateRefund,
    PaymentAnswer,
    RefundAnswer,
)

router = APIRouter(prefix="/internal/v1/payments")


@router.post("")
async def create_payment(
    body: CreatePayment, sandbox: SandboxDep, correlation_id: CorrelationIdDep
) -> PaymentAnswer:
    return payment_answer(await sandbox.payments.create(body, correlation_id))


@router.get("/{payment_id}")
async def get_payment(payment_id: str, sandbox: SandboxDep) -> PaymentAnswer:
    return payment_answer(sandbox.payments.find(payment_id))


@router.post("/{payment_id}/cancel")
async def cancel_payment(
    payment_id: str, sandbox: SandboxDep, correlation_id: CorrelationIdDep
) -> PaymentAnswer:
    return payment_answer(await sandbox.payments.cancel(payment_id, correlation_id))


@router.post("/{payment_id}/refunds")
async def refund_payment(payment_id: str, body: CreateRefund, sandbox: SandboxDep) -> RefundAnswer:
    return sandbox.payments.refund(payment_id, body)
