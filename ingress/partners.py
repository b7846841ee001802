"""Partner authentication: `Authorization: Bearer <key>` against PARTNER_KEYS, and the
request signature of the partners in PARTNER_SIGNED (contract 2.1).

PARTNER_KEYS is `mobi=<key>[,<partner>=<key>...]`; a partner may be named more than
once (several valid keys). Only the keys' digests are kept (ingress.keyring). The
configuration is read when the app is created (a bad value stops the process with a
message naming the variable); a partner route accepts only its own partner's key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Self

import structlog
from fastapi import Request

from ingress.admission import PaymentWaiters
from ingress.errors import ApiError
from ingress.keyring import InvalidKeys, KeyRing, bearer_token
from ingress.resources import resources_of
from ingress.settings import IngressSettings
from ingress.signatures import SIGNATURE_HEADER, signature_is_valid

log = structlog.get_logger(__name__)

# Kept for callers that knew the partner-only names.
InvalidPartnerKeys = InvalidKeys


class PartnerKeys(KeyRing):
    @classmethod
    def parse(cls, raw: str, variable: str = "PARTNER_KEYS") -> Self:
        return super().parse(raw, variable)

    @property
    def partners(self) -> list[str]:
        return self.names

    def partner_for(self, presented: str) -> str | None:
        return self.owner_of(presented)


@dataclass(frozen=True)
class PartnerConfig:
    keys: PartnerKeys
    hold_timeout_s: float
    signed: frozenset[str] = frozenset()
    waiters: PaymentWaiters = field(default_factory=lambda: PaymentWaiters(32))


def load_partner_config(settings: IngressSettings) -> PartnerConfig:
    """The partners of this ingress; InvalidKeys (naming the variable) when bad."""
    keys = PartnerKeys.parse(settings.partner_keys)
    signed = frozenset(name.strip() for name in settings.partner_signed.split(",") if name.strip())
    unknown = signed - set(keys.partners)
    if unknown:
        raise InvalidKeys(f"PARTNER_SIGNED: {', '.join(sorted(unknown))} not in PARTNER_KEYS")
    if "partner_keys" not in settings.model_fields_set:
        log.warning("partner_keys_default", partners=keys.partners, note="local development key")
    log.info("partners_configured", partners=keys.partners, signed=sorted(signed))
    waiters = PaymentWaiters(settings.ingress_max_waiters_per_payment)
    return PartnerConfig(keys, settings.payment_hold_timeout, signed, waiters)


def partner_config(request: Request) -> PartnerConfig:
    return resources_of(request).partner_config


def _unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "A valid partner key is required.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _bad_signature() -> ApiError:
    return ApiError(401, "bad_signature", "A valid, fresh X-Signature is required.")


def require_partner(partner: str) -> Callable[[Request], Coroutine[Any, Any, str]]:
    """A dependency that admits only `partner`'s key (and signature when it must sign)."""

    async def authenticate(request: Request) -> str:
        token = bearer_token(request.headers.get("authorization"))
        config = partner_config(request)
        if token is None or config.keys.partner_for(token) != partner:
            raise _unauthorized()
        if partner in config.signed:
            body = await request.body()  # already read and limited (ingress.admission)
            header = request.headers.get(SIGNATURE_HEADER)
            if not signature_is_valid(header, token, body, time.time()):
                raise _bad_signature()
        # The access log names the partner (never the key).
        request.state.partner = partner
        return partner

    return authenticate
