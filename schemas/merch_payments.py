"""The payments service (contractor-merch-payments): its status events and HTTP bodies."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class MerchPaymentStatus(StrEnum):
    PENDING_ACCEPTANCE = "pending_acceptance"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


class MerchPaymentEvent(BaseModel):
    """Value of `merch-payment-events`, keyed by `payment_id`."""

    event_id: str
    payment_id: str
    status: MerchPaymentStatus
    decline_reason: str | None = None
    occurred_at: datetime


# HTTP bodies of contractor-merch-payments (contract section 5), shared by the
# processors' client and the sandbox that fakes the service.


class MerchPaymentMerchant(BaseModel):
    """The shop the driver pays in, as the partner reported it."""

    id: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    mcc: str | None = Field(default=None, max_length=8)


class CreateMerchPayment(BaseModel):
    """`POST /internal/v1/payments`; `payment_id` is the idempotency key."""

    payment_id: str = Field(min_length=1, max_length=128)
    qr_code: str = Field(min_length=1, max_length=512)
    amount: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    partner: str = Field(min_length=1, max_length=64)
    external_id: str = Field(min_length=1, max_length=128)
    merchant: MerchPaymentMerchant | None = None


class MerchPaymentState(BaseModel):
    """The service's answer to create, get and cancel.

    `amount`, `currency` and `refunded_total` may be absent in older answers.
    """

    payment_id: str
    status: MerchPaymentStatus
    decline_reason: str | None = None
    amount: int | None = None
    currency: str | None = None
    refunded_total: int = 0


class CreateMerchRefund(BaseModel):
    """`POST /internal/v1/payments/{payment_id}/refunds`; `refund_id` is the idempotency key."""

    refund_id: str = Field(min_length=1, max_length=128)
    amount: int = Field(gt=0)


class MerchRefund(BaseModel):
    refund_id: str
    payment_id: str
    status: Literal["succeeded"] = "succeeded"
    amount: int
    refunded_total: int
