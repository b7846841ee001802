"""Configuration of the payments capability in a worker, parsed once at start."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from local_defaults import sandbox_peer_url
from processors.payments.timing import Timing


class PaymentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    payments_service_url: str = sandbox_peer_url("contractor-merch-payments")
    # Each call to the payments service; a partition waits at most this long on it.
    payments_service_timeout: float = Field(default=3.0, gt=0, le=30)
    # A payment waiting for the driver longer than this is declined and cancelled.
    payment_acceptance_timeout: float = Field(default=90.0, gt=0)
    # How often the status poll runs (lost events, unknown outcomes, owed cancels).
    payment_poll_interval: float = Field(default=2.0, gt=0, le=60)
    payment_poll_batch: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _deadline_outlasts_a_call(self) -> PaymentSettings:
        if self.payment_acceptance_timeout <= self.payments_service_timeout:
            raise ValueError("PAYMENT_ACCEPTANCE_TIMEOUT must exceed PAYMENTS_SERVICE_TIMEOUT")
        return self

    @property
    def acceptance_timeout(self) -> timedelta:
        return timedelta(seconds=self.payment_acceptance_timeout)

    @property
    def poll_interval(self) -> timedelta:
        return timedelta(seconds=self.payment_poll_interval)

    @property
    def create_grace(self) -> timedelta:
        """After this, no create of ours for a payment can still be on its way."""
        return timedelta(seconds=2 * self.payments_service_timeout + 1)

    @property
    def lease(self) -> timedelta:
        """How long a poller holds the payments it claimed."""
        return timedelta(seconds=2 * self.payments_service_timeout + self.payment_poll_interval)

    @property
    def timing(self) -> Timing:
        return Timing(
            acceptance_timeout=self.acceptance_timeout,
            poll_interval=self.poll_interval,
            create_grace=self.create_grace,
            lease=self.lease,
            poll_batch=self.payment_poll_batch,
        )
