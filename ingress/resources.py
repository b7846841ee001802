"""What one ingress instance shares between its two listeners, built once by the
composition root (`ingress.bootstrap`) and read by the routes' dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request

from ingress.admission import InFlight
from ingress.database import Database
from ingress.health import CachedReadiness
from ingress.kafka_gateway import KafkaGateway
from ingress.keyring import KeyRing
from ingress.settings import IngressSettings

if TYPE_CHECKING:  # partners reads the resources too
    from ingress.partners import PartnerConfig


@dataclass(frozen=True)
class IngressResources:
    settings: IngressSettings
    gateway: KafkaGateway
    database: Database
    partner_config: PartnerConfig
    service_keys: KeyRing
    readiness: CachedReadiness
    in_flight: InFlight


def resources_of(request: Request) -> IngressResources:
    """The instance's resources, as the app serving `request` was given them."""
    resources: IngressResources = request.app.state.resources
    return resources
