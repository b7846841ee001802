"""Request bodies more than one sandbox test sends."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

PUSH = "/client-notify/v2/push"
PUSH_BODY: Json = {
    "service": "taximeter",
    "client_id": "p-1-d-1",
    "intent": "external_meter_failed",
    "notification": {"text": "Enter the price by hand"},
}


def payment(payment_id: str = "pay-1", **overrides: Any) -> Json:
    """A create-payment body for the driver `add_driver` makes by default."""
    body: Json = {
        "payment_id": payment_id,
        "qr_code": "QR-d-1",
        "amount": 15_050,
        "currency": "RUB",
        "partner": "mobi",
        "external_id": "9000001",
        "merchant": {"id": "m-17", "name": "Shop 17", "mcc": "5411"},
    }
    body.update(overrides)
    return body
