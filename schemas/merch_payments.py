"""Status events the payments service (contractor-merch-payments) publishes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


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
