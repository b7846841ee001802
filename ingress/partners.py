"""Partner authentication: `Authorization: Bearer <key>` against PARTNER_KEYS.

PARTNER_KEYS is `mobi=<key>[,<partner>=<key>...]`. Only the keys' sha256 digests are
kept; a presented key is hashed and compared with every digest in constant time.
The configuration is read when the app is created (a bad value stops the process
with a message naming the variable); a partner route accepts only its own partner's key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import Request

from ingress.errors import ApiError
from ingress.settings import IngressSettings

log = structlog.get_logger(__name__)

_PARTNER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class InvalidPartnerKeys(ValueError):
    """PARTNER_KEYS cannot be understood; the message names the variable, never a key."""


class PartnerKeys:
    def __init__(self, digests: dict[str, bytes]) -> None:
        self._digests = dict(digests)

    @classmethod
    def parse(cls, raw: str) -> PartnerKeys:
        digests: dict[str, bytes] = {}
        for position, item in enumerate(raw.split(","), start=1):
            name, sep, key = item.strip().partition("=")
            name, key = name.strip(), key.strip()
            if not sep or not _PARTNER_NAME.match(name):
                raise InvalidPartnerKeys(
                    f"PARTNER_KEYS: entry {position} must be <partner>=<key> with a lowercase"
                    " partner name, e.g. mobi=<key>"
                )
            if not key or any(c.isspace() for c in key):
                raise InvalidPartnerKeys(
                    f"PARTNER_KEYS: the key of {name!r} is empty or has spaces"
                )
            if name in digests:
                raise InvalidPartnerKeys(f"PARTNER_KEYS: partner {name!r} is listed twice")
            digest = hashlib.sha256(key.encode()).digest()
            if digest in digests.values():
                raise InvalidPartnerKeys(f"PARTNER_KEYS: the key of {name!r} is another's too")
            digests[name] = digest
        return cls(digests)

    @property
    def partners(self) -> list[str]:
        return sorted(self._digests)

    def partner_for(self, presented: str) -> str | None:
        """The partner whose key this is, or None. Looks at every key, whatever matches."""
        digest = hashlib.sha256(presented.encode()).digest()
        found: str | None = None
        for name, expected in self._digests.items():
            if hmac.compare_digest(digest, expected):
                found = name
        return found


@dataclass(frozen=True)
class PartnerConfig:
    keys: PartnerKeys
    hold_timeout_s: float


def load_partner_config(settings: IngressSettings) -> PartnerConfig:
    """The partners of this ingress; InvalidPartnerKeys (naming the variable) when bad."""
    keys = PartnerKeys.parse(settings.partner_keys)
    if "partner_keys" not in settings.model_fields_set:
        log.warning("partner_keys_default", partners=keys.partners, note="local development key")
    log.info("partners_configured", partners=keys.partners)
    return PartnerConfig(keys, settings.payment_hold_timeout)


def partner_config(request: Request) -> PartnerConfig:
    config: PartnerConfig = request.app.state.partner_config
    return config


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "A valid partner key is required.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def require_partner(partner: str) -> Callable[[Request], Coroutine[Any, Any, str]]:
    """A dependency that admits only `partner`'s key; 401 `unauthorized` otherwise."""

    async def authenticate(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized()
        if partner_config(request).keys.partner_for(token.strip()) != partner:
            raise _unauthorized()
        return partner

    return authenticate
