"""The processors' composition root: `python -m processors` runs `main()`.

It parses every setting once (a bad value stops the process naming the variable),
and, when the worker's resources (pool, HTTP clients, reply producer) open, builds
the adapters and the use cases and hands them to the agents through `wiring`.
Nothing else reads the environment or builds a use case. A test builds the same
graph with other arguments: `main(customize=...)` wraps what it wants (the crash
tests' entry module, tests/integration/payments/crashing_worker.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from faust import Worker

from messaging.topics import PAYMENT_REQUESTS
from observability.logs import configure_logging
from processors import app as processor_app
from processors.adapters.client_notify import HttpDriverNotifier
from processors.adapters.delivery_replier import DeliveryReplier
from processors.adapters.driver_orders_builder import HttpDriverOrders
from processors.adapters.driver_profiles import HttpIdentityDocs
from processors.adapters.fleet_vehicles import HttpVehicleRegistry
from processors.adapters.monitex import MonitexMeter
from processors.adapters.order_core import HttpOrderStore
from processors.adapters.payments_service import HttpPaymentsService
from processors.adapters.personal import HttpPersonalData
from processors.app import ProcessorApp, Resources
from processors.kafka_lag import register_consumer_lag
from processors.meters import agents as meter_agents
from processors.meters.repository import PostgresMeterStates
from processors.meters.service import FinishRide, MeterPorts, RideEvents
from processors.meters.settings import MeterSettings
from processors.meters.start_ride import StartMeterRide
from processors.payments import agents as payment_agents
from processors.payments.ports import PaymentPorts
from processors.payments.redaction import redact_command
from processors.payments.repository import PostgresPaymentRepository
from processors.payments.settings import PaymentSettings
from processors.payments.use_cases import build_payment_use_cases
from processors.probe import agents as probe_agents
from processors.settings import WorkerSettings, parse_settings
from processors.web import register_pages
from processors.wiring import MeterUseCases, UseCases, wiring

Customize = Callable[[UseCases], UseCases]

# Importing them registers their agents on the app (Faust agents are module-level).
AGENT_MODULES = (probe_agents, payment_agents, meter_agents)


@dataclass(frozen=True)
class ProcessorSettings:
    worker: WorkerSettings
    payments: PaymentSettings
    meters: MeterSettings


def load_settings() -> ProcessorSettings:
    """Every setting of the worker, or SystemExit naming the bad variables."""
    return ProcessorSettings(
        # Parsed when the app was created (its broker address is needed at import).
        worker=processor_app.settings,
        payments=parse_settings(PaymentSettings, "payments"),
        meters=parse_settings(MeterSettings, "meters"),
    )


def build_use_cases(resources: Resources, settings: ProcessorSettings) -> UseCases:
    """The adapters over the worker's open resources, and the use cases over them."""
    payments = settings.payments
    payment_ports = PaymentPorts(
        PostgresPaymentRepository(resources.pool, settings.worker.database_acquire_timeout_s),
        HttpPaymentsService(
            resources.session, payments.payments_service_url, payments.payments_service_timeout
        ),
        DeliveryReplier(resources.delivery),
    )
    meter_ports = _meter_ports(resources, settings.meters)
    return UseCases(
        payments=build_payment_use_cases(payment_ports, payments.timing),
        meters=MeterUseCases(
            ride_events=RideEvents(
                meter_ports,
                StartMeterRide(
                    meter_ports, settings.meters.rollout, settings.meters.meter_start_max_age
                ),
            ),
            finish_ride=FinishRide(meter_ports, settings.meters.meter_finish_wait_for_start_s),
        ),
    )


def _meter_ports(resources: Resources, settings: MeterSettings) -> MeterPorts:
    http, timeout = resources.http, settings.peer_timeout_s
    return MeterPorts(
        meter=MonitexMeter(
            http,
            settings.monitex_url,
            settings.monitex_api_key.get_secret_value(),
            settings.monitex_timeout_s,
        ),
        orders=HttpOrderStore(http, settings.order_core_url, timeout),
        vehicles=HttpVehicleRegistry(http, settings.fleet_vehicles_url, timeout),
        identity_docs=HttpIdentityDocs(http, settings.driver_profiles_url, timeout),
        personal=HttpPersonalData(http, settings.personal_url, timeout),
        driver_orders=HttpDriverOrders(http, settings.driver_orders_builder_url, timeout),
        notifier=HttpDriverNotifier(http, settings.client_notify_url, timeout),
        states=PostgresMeterStates(resources.pool),
    )


def wire(
    app: ProcessorApp, settings: ProcessorSettings, customize: Customize | None = None
) -> None:
    """Build the use cases when the worker's resources open, and start the status poll."""

    async def install(resources: Resources) -> None:
        resources.delivery.redact_dead_letters(PAYMENT_REQUESTS, redact_command)
        use_cases = build_use_cases(resources, settings)
        wiring.install(customize(use_cases) if customize is not None else use_cases)

    app.resources.on_open(install)
    app.timer(interval=settings.payments.payment_poll_interval)(payment_agents.poll_payments)


class QuietWorker(Worker):
    """Faust's worker without its terminal spinner, which forces the root logger to DEBUG."""

    log_level = "INFO"

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        logger.setLevel(self.log_level.upper())


def main(customize: Customize | None = None) -> None:
    settings = load_settings()
    configure_logging(settings.worker.worker_id, settings.worker.log_level)
    app = processor_app.app
    wire(app, settings, customize)
    register_pages(app)
    register_consumer_lag(app)
    QuietWorker.log_level = settings.worker.log_level
    worker = QuietWorker(
        app,
        loglevel=settings.worker.log_level,
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    worker.execute_from_commandline()
