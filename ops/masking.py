"""Payloads shown to operators with their secrets masked (QR codes, identity numbers)."""

from __future__ import annotations

import json
from typing import Any

# Field names whose values are secrets or personal data wherever they appear.
SECRET_FIELDS = frozenset(
    {"qr_code", "driver_id_number", "id_number", "number", "api_key", "key", "token", "secret"}
)
_MAX_RAW = 60


def mask_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"*** ({len(text)} chars masked)"


def masked(value: Any) -> Any:
    """`value` (parsed JSON) with every secret field replaced."""
    if isinstance(value, dict):
        return {
            k: mask_value(v) if k.lower() in SECRET_FIELDS and v is not None else masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value


def masked_payload(raw: bytes | None) -> Any:
    """The payload for display: masked JSON, or a short, printable summary of other bytes
    (not JSON, so no field is known to be safe: only its start is shown)."""
    if raw is None:
        return None
    try:
        return masked(json.loads(raw))
    except ValueError:
        text = raw[:_MAX_RAW].decode("utf-8", "replace")
        printable = "".join(c if c.isprintable() else "." for c in text)
        more = f" ... ({len(raw)} bytes)" if len(raw) > _MAX_RAW else ""
        return f"<not JSON> {printable}{more}"
