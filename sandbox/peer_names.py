"""The peers the sandbox fakes; each name is also its URL prefix (`/<name>/...`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from pydantic import AfterValidator

from sandbox.errors import PeerError

CONTRACTOR_MERCH_PAYMENTS = "contractor-merch-payments"
MONITEX = "monitex"
ORDER_CORE = "order-core"
FLEET_VEHICLES = "fleet-vehicles"
DRIVER_PROFILES = "driver-profiles"
PERSONAL = "personal"
DRIVER_ORDERS_BUILDER = "driver-orders-builder"
CLIENT_NOTIFY = "client-notify"

PEER_SERVICES: tuple[str, ...] = (
    CONTRACTOR_MERCH_PAYMENTS,
    MONITEX,
    ORDER_CORE,
    FLEET_VEHICLES,
    DRIVER_PROFILES,
    PERSONAL,
    DRIVER_ORDERS_BUILDER,
    CLIENT_NOTIFY,
)


def split_peer_path(path: str) -> tuple[str, str] | None:
    """`/monitex/v0.2/rides` -> (`monitex`, `/v0.2/rides`); None for non-peer paths."""
    head, _, rest = path.lstrip("/").partition("/")
    if head not in PEER_SERVICES:
        return None
    return head, "/" + rest


def known_service(value: str) -> str:
    """`value` if it names a peer; a ValueError listing the peers otherwise (for validators)."""
    if value not in PEER_SERVICES:
        raise ValueError(f"unknown service; one of {', '.join(PEER_SERVICES)}")
    return value


# A body field naming a peer the sandbox fakes.
ServiceName = Annotated[str, AfterValidator(known_service)]


def service_filter(service: str | None = None) -> str | None:
    """Query `?service=`: a peer's name or nothing; any other name is answered 422."""
    if service is not None and service not in PEER_SERVICES:
        raise PeerError(
            422,
            "invalid_request",
            "unknown service",
            details={"service": service, "known": list(PEER_SERVICES)},
        )
    return service


ServiceFilter = Annotated[str | None, Depends(service_filter)]
