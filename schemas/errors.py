"""The error body every HTTP error of the contract carries, and the HTTP status of each code."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any | None = None


# The HTTP status of every error code a processor replies with (and the ingress's
# own), in this one place: the processors choose the codes, the ingress answers
# with these statuses (`ingress.errors.ApiError.from_reply`). A code missing here
# is answered 500.
HTTP_STATUS_BY_CODE: Mapping[str, int] = MappingProxyType(
    {
        # Any request
        "invalid_message": 400,
        "unauthorized": 401,
        "handler_error": 500,
        "invalid_reply": 502,
        "unavailable": 503,
        "timeout": 504,
        # Payments (contract 3.1)
        "payment_not_found": 404,
        "idempotency_conflict": 409,
        "payment_not_cancellable": 409,
        "payment_not_refundable": 409,
        "refund_exceeds_payment": 409,
        "payments_unavailable": 503,
        # Meters (contract 2.2)
        "not_order_performer": 403,
        "meter_ride_not_found": 404,
        "meter_unavailable": 502,
        "order_core_unavailable": 503,
    }
)
