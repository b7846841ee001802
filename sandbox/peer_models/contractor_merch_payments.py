"""contractor-merch-payments as the contract describes it: create, read, cancel and
refund a payment, and the status event published to `merch-payment-events`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PaymentStatus(StrEnum):
    PENDING_ACCEPTANCE = "pending_acceptance"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class Merchant(BaseModel):
    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    mcc: str | None = Field(default=None, max_length=8)


class CreatePayment(BaseModel):
    """`POST /internal/v1/payments`, idempotent by `payment_id`."""

    payment_id: str = Field(min_length=1, max_length=128)
    qr_code: str = Field(min_length=1, max_length=512)
    amount: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    partner: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=128)
    merchant: Merchant | None = None


class PaymentAnswer(BaseModel):
    """The answer to create, get and cancel: the payment's fields by name."""

    model_config = ConfigDict(from_attributes=True)

    payment_id: str
    status: PaymentStatus
    decline_reason: str | None
    amount: int
    currency: str
    refunded_total: int


class CreateRefund(BaseModel):
    """`POST /internal/v1/payments/{payment_id}/refunds`, idempotent by `refund_id`."""

    refund_id: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0)


class RefundAnswer(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    refund_id: str
    payment_id: str
    status: Literal["succeeded"] = "succeeded"
    amount: int
    refunded_total: int


class PaymentStatusChanged(BaseModel):
    """A value of `merch-payment-events`, keyed by `payment_id`."""

    event_id: str
    payment_id: str
    status: PaymentStatus
    decline_reason: str | None = None
    occurred_at: datetime
