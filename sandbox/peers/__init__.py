"""One router per fake peer, mounted under the peer's prefix (its name)."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox import peer_names
from sandbox.peers import (
    client_notify,
    contractor_merch_payments,
    driver_orders_builder,
    driver_profiles,
    fleet_vehicles,
    monitex,
    order_core,
    personal,
)

PEER_ROUTERS: dict[str, APIRouter] = {
    peer_names.CONTRACTOR_MERCH_PAYMENTS: contractor_merch_payments.router,
    peer_names.MONITEX: monitex.router,
    peer_names.ORDER_CORE: order_core.router,
    peer_names.FLEET_VEHICLES: fleet_vehicles.router,
    peer_names.DRIVER_PROFILES: driver_profiles.router,
    peer_names.PERSONAL: personal.router,
    peer_names.DRIVER_ORDERS_BUILDER: driver_orders_builder.router,
    peer_names.CLIENT_NOTIFY: client_notify.router,
}

assert tuple(PEER_ROUTERS) == peer_names.PEER_SERVICES
