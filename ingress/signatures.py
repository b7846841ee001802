"""Signed partner requests (contract 2.1): `X-Signature: t=<unix s>,v1=<hex HMAC-SHA256>`.

The HMAC is over `"<t>.<raw body>"` under the partner's key: the bearer key the
request presented (already matched against the partner's digests), so no key is
kept in clear. A signature older (or newer) than the tolerance is refused, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re

TOLERANCE_S = 300
SIGNATURE_HEADER = "x-signature"

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def sign(key: str, timestamp: int, body: bytes) -> str:
    """The header value a partner sends (used by tests, the demo and partners' examples)."""
    return f"t={timestamp},v1={_digest(key, str(timestamp), body)}"


def signature_is_valid(header: str | None, key: str, body: bytes, now: float) -> bool:
    """True when `header` is well formed, fresh and the HMAC of this body under `key`."""
    if not header or len(header) > 512:
        return False
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            return False
        fields.setdefault(name, []).append(value)
    timestamps, candidates = fields.get("t", []), fields.get("v1", [])
    if len(timestamps) != 1 or not candidates or not _TIMESTAMP.match(timestamps[0]):
        return False
    if abs(now - int(timestamps[0])) > TOLERANCE_S:
        return False
    expected = _digest(key, timestamps[0], body)
    matched = False
    for candidate in candidates:  # every candidate compared: no early exit
        if _HEX_DIGEST.match(candidate) and hmac.compare_digest(candidate, expected):
            matched = True
    return matched


def _digest(key: str, timestamp: str, body: bytes) -> str:
    return hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
