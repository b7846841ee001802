"""Payloads shown to operators with their secrets masked (QR codes, identity numbers)."""

from __future__ import annotations

import json
import re
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


# In text that is not valid JSON (a cut-off message): `"qr_code": "..."` and the like.
_SECRET_IN_TEXT = re.compile(
    r'("(?:' + "|".join(sorted(SECRET_FIELDS)) + r')"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\s]+)',
    re.IGNORECASE,
)


def masked_payload(raw: bytes | None) -> Any:
    """The payload for display: masked JSON, or the start of other bytes with whatever
    looks like a secret field masked."""
    if raw is None:
        return None
    try:
        return masked(json.loads(raw))
    except ValueError:
        text = _SECRET_IN_TEXT.sub(
            lambda m: m.group(1) + mask_value(m.group(2).strip('"')),
            raw.decode("utf-8", "replace"),
        )
        printable = "".join(c if c.isprintable() else "." for c in text[:_MAX_RAW])
        more = f" ... ({len(raw)} bytes)" if len(text) > _MAX_RAW else ""
        return f"<not JSON> {printable}{more}"
