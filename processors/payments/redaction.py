"""What a dead-lettered payment command keeps: everything but the QR code, which pays."""

from __future__ import annotations

import json

from processors.delivery import UNREADABLE_REDACTED

REDACTED = "[redacted]"


def redact_command(value: bytes) -> bytes:
    try:
        command = json.loads(value)
    except ValueError:
        return UNREADABLE_REDACTED  # it may hold a QR code we cannot find
    if not isinstance(command, dict):
        return UNREADABLE_REDACTED
    if "qr_code" in command:
        command["qr_code"] = REDACTED
    return json.dumps(command).encode()
