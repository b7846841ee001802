"""Configuration of the meters capability, parsed once when the worker starts.

A bad value stops the worker at once with a message naming the variable
(`load_meter_settings`), rather than failing on the first ride.
"""

from __future__ import annotations

from functools import cached_property

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import local_defaults
from local_defaults import sandbox_peer_url
from processors.meters.domain import Rollout
from processors.meters.rollout import parse_rollout
from processors.settings import parse_settings


class MeterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    meters_rollout: str = "all"
    monitex_url: str = sandbox_peer_url("monitex")
    monitex_api_key: SecretStr = SecretStr(local_defaults.MONITEX_API_KEY)
    order_core_url: str = sandbox_peer_url("order-core")
    fleet_vehicles_url: str = sandbox_peer_url("fleet-vehicles")
    driver_profiles_url: str = sandbox_peer_url("driver-profiles")
    personal_url: str = sandbox_peer_url("personal")
    driver_orders_builder_url: str = sandbox_peer_url("driver-orders-builder")
    client_notify_url: str = sandbox_peer_url("client-notify")
    # The finish's order-core read plus its vendor call must fit FINISH_RIDE_TIMEOUT.
    monitex_timeout_s: float = Field(default=2.0, gt=0, le=30)
    peer_timeout_s: float = Field(default=1.0, gt=0, le=30)
    # METER_START_MAX_AGE: past this many seconds after the ride started (`occurred_at`),
    # a ride_started no longer starts the meter (it would bill mid-ride): fallback.
    meter_start_max_age: float = Field(default=60.0, gt=0, le=3600)
    # How long a finish that overtook its start waits for the start to end.
    meter_finish_wait_for_start_s: float = Field(default=2.0, ge=0, le=30)

    @field_validator("meters_rollout")
    @classmethod
    def _valid_rollout(cls, value: str) -> str:
        parse_rollout(value)
        return value

    @cached_property
    def rollout(self) -> Rollout:
        return parse_rollout(self.meters_rollout)


def load_meter_settings() -> MeterSettings:
    """The settings, or SystemExit with every bad variable named."""
    return parse_settings(MeterSettings, "meters")
