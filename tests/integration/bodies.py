"""Bodies more than one integration test sends: a Mobi authorization (contract 2.1)
and a driver for the sandbox's payments service."""

from __future__ import annotations

import uuid
from typing import Any


def new_qr_code() -> str:
    return f"qr-{uuid.uuid4().hex}"


def authorize_body(tx: int, qr_code: str, amount: int = 15050, **changes: Any) -> dict[str, Any]:
    body = {
        "transaction_id": tx,
        "qr_code": qr_code,
        "amount": amount,
        "currency": "RUB",
        "merchant": {"id": "m-17", "name": "Shop 17", "mcc": "5411"},
        "terminal_id": "T-3",
    }
    return {**body, **changes}


def sandbox_driver(
    qr_code: str,
    *,
    balance: int = 1_000_000,
    acceptance: str = "auto",
    park_id: str = "park-1",
    driver_profile_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """`POST /_sandbox/drivers`: a driver paying in RUB with `qr_code`."""
    return {
        "park_id": park_id,
        "driver_profile_id": driver_profile_id or f"d-{uuid.uuid4().hex[:10]}",
        "balance": balance,
        "currency": "RUB",
        "qr_code": qr_code,
        "acceptance": acceptance,
        **extra,
    }
