"""Each child's environment: the caller's, the local run's defaults, where things are."""

from __future__ import annotations

import os

import local_defaults
from launcher.config import StackConfig
from launcher.logs import Log
from messaging.rotation import ROTATION_ENV, TopicRotation
from observability.logs import LOG_FORMAT_ENV

# Defaults of the local run, given to the children when the environment lacks them.
ENV_DEFAULTS = {
    "PARTNER_KEYS": local_defaults.PARTNER_KEYS,
    "METERS_ROLLOUT": "all",
    "MONITEX_API_KEY": local_defaults.MONITEX_API_KEY,
}
# Each peer's base URL defaults to the sandbox's prefix for it.
PEER_URL_PREFIXES = {
    "PAYMENTS_SERVICE_URL": "/contractor-merch-payments",
    "MONITEX_URL": "/monitex",
    "ORDER_CORE_URL": "/order-core",
    "FLEET_VEHICLES_URL": "/fleet-vehicles",
    "DRIVER_PROFILES_URL": "/driver-profiles",
    "PERSONAL_URL": "/personal",
    "DRIVER_ORDERS_BUILDER_URL": "/driver-orders-builder",
    "CLIENT_NOTIFY_URL": "/client-notify",
}


def child_env(
    config: StackConfig,
    log: Log,
    *,
    bootstrap_servers: str,
    database_url: str,
    sandbox_url: str,
    rotation: TopicRotation,
    broker: str,
    fetch_wait_ms: int,
    console: bool = False,
) -> dict[str, str]:
    """base_env (default: os.environ) + extra_env, then the defaults each missing variable takes."""
    env = dict(os.environ if config.base_env is None else config.base_env)
    env.update(config.extra_env)
    for key, value in ENV_DEFAULTS.items():
        if not env.get(key):
            env[key] = value
            log.info(f"{key} not set: using {value}", variable=key, value=value)
    peers = {
        key: sandbox_url + prefix for key, prefix in PEER_URL_PREFIXES.items() if not env.get(key)
    }
    if peers:
        env.update(peers)
        log.info(
            f"peer URLs not set: using the sandbox at {sandbox_url}",
            variables=sorted(peers),
        )
    env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap_servers
    env["DATABASE_URL"] = database_url
    env[ROTATION_ENV] = str(rotation.period_s)
    # Which broker the clients talk to: Tansu has no idempotent producer and no static
    # group membership (processors/app.py, ingress/kafka_gateway.py choose by it).
    env["BROKER"] = broker
    env["KAFKA_REPLICATION_FACTOR"] = str(config.replication_factor)
    if not env.get("KAFKA_FETCH_MAX_WAIT_MS"):
        env["KAFKA_FETCH_MAX_WAIT_MS"] = str(fetch_wait_ms)
    env.setdefault("LOG_LEVEL", "INFO")
    # Children write to our pipe: they render for people when our own output is for people.
    env.setdefault(LOG_FORMAT_ENV, "console" if console else "json")
    env["PYTHONUNBUFFERED"] = "1"  # lines reach the launcher as they are written
    return env
