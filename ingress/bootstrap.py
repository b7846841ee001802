"""The ingress's composition root: `python -m ingress` runs `main()`.

It parses the settings once and builds what both listeners share (the Kafka
gateway, the database pool, the partners' and the services' keys, the in-flight
cap, the readiness cache) in one place, then hands it to the two apps. Every bad
setting stops the process here in one style: SystemExit naming the variable, never
its value (which may be a secret). Nothing else reads the environment.
"""

from __future__ import annotations

import uvloop
from fastapi import APIRouter
from pydantic import ValidationError

from ingress.admission import InFlight
from ingress.app import IngressApps, create_apps
from ingress.database import Database
from ingress.health import CachedReadiness
from ingress.kafka_gateway import KafkaGateway
from ingress.keyring import InvalidKeys
from ingress.partners import load_partner_config
from ingress.resources import IngressResources
from ingress.services import load_service_keys
from ingress.serving import serve
from ingress.settings import IngressSettings
from messaging.broker_features import broker_features
from messaging.rotation import TopicRotation
from observability.logs import configure_logging


def _stop(problems: str) -> SystemExit:
    return SystemExit(f"invalid ingress configuration: {problems}")


def load_settings() -> IngressSettings:
    """The settings from the environment, or SystemExit naming every bad variable."""
    try:
        return IngressSettings()
    except ValidationError as exc:
        # A rule across fields has no variable: its message says what is wrong.
        problems = [
            str(error["loc"][0]).upper() if error["loc"] else str(error["msg"])
            for error in exc.errors()
        ]
        raise _stop(", ".join(problems)) from None


def build_resources(settings: IngressSettings) -> IngressResources:
    """What both listeners share; SystemExit naming the variable when a key list is bad."""
    try:
        # Parsed before serving: a bad PARTNER_KEYS or INTERNAL_KEYS stops the process here.
        partner_config = load_partner_config(settings)
        service_keys = load_service_keys(settings)
    except InvalidKeys as exc:
        raise _stop(str(exc)) from None
    return IngressResources(
        settings=settings,
        gateway=KafkaGateway(
            settings.kafka_bootstrap_servers,
            settings.ingress_instance_id,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
            send_timeout_s=settings.kafka_send_timeout_s,
            rotation=TopicRotation(settings.kafka_topic_rotation_s),
            features=broker_features(settings.broker),
            replication_factor=settings.kafka_replication_factor,
            auth=settings.kafka_auth(),
        ),
        database=Database(settings.database_url, settings.database_timeout_s),
        partner_config=partner_config,
        service_keys=service_keys,
        readiness=CachedReadiness(),
        in_flight=InFlight(settings.ingress_max_in_flight),
    )


def build_apps(
    settings: IngressSettings, partner_routers: list[APIRouter] | None = None
) -> IngressApps:
    """Both apps over one set of resources (`partner_routers`: more partner adapters)."""
    return create_apps(build_resources(settings), partner_routers)


def main() -> None:
    settings = load_settings()
    configure_logging(settings.ingress_instance_id, settings.log_level)
    apps = build_apps(settings)
    uvloop.run(serve(apps))
