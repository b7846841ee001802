"""Service callers of the internal listener (ride events): `Authorization: Bearer <key>`
against INTERNAL_KEYS (`<service>=<key>[,...]`, several keys per service allowed)."""

from __future__ import annotations

import structlog
from fastapi import Request

from ingress.errors import ApiError
from ingress.keyring import KeyRing, bearer_token
from ingress.resources import resources_of
from ingress.settings import IngressSettings

log = structlog.get_logger(__name__)


def load_service_keys(settings: IngressSettings) -> KeyRing:
    """The service keys; InvalidKeys (naming INTERNAL_KEYS) when bad."""
    keys = KeyRing.parse(settings.internal_keys, "INTERNAL_KEYS")
    if "internal_keys" not in settings.model_fields_set:
        log.warning("internal_keys_default", services=keys.names, note="local development key")
    log.info("services_configured", services=keys.names)
    return keys


async def require_service(request: Request) -> str:
    """A dependency admitting any configured service's key; 401 `unauthorized` otherwise."""
    keys = resources_of(request).service_keys
    token = bearer_token(request.headers.get("authorization"))
    service = keys.owner_of(token) if token is not None else None
    if service is None:
        raise ApiError(
            401,
            "unauthorized",
            "A valid service key is required.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.service = service
    return service
