"""Faust agents of the meters capability (topic -> service).

`ride-events` starts and cancels meter rides; `meter-requests` carries the Pro
app's finish, answered on the reply topic. Both keyed by order_id and consumed
concurrently by key (processors/keyed_concurrency.py): one order's events in order,
other orders at the same time, so a hanging Monitex call holds up only its own order.
"""

from __future__ import annotations

from typing import Any

from messaging.topics import METER_REQUESTS, RIDE_EVENTS
from processors.adapters.client_notify import HttpDriverNotifier
from processors.adapters.driver_orders_builder import HttpDriverOrders
from processors.adapters.driver_profiles import HttpIdentityDocs
from processors.adapters.fleet_vehicles import HttpVehicleRegistry
from processors.adapters.monitex import MonitexMeter
from processors.adapters.order_core import HttpOrderStore
from processors.adapters.personal import HttpPersonalData
from processors.app import Resources, app, consume, source_topic
from processors.delivery import Incoming
from processors.meters.errors import FinishRefused
from processors.meters.repository import PostgresMeterStates
from processors.meters.service import FinishRide, MeterPorts, RideEvents
from processors.meters.settings import MeterSettings, load_meter_settings
from schemas.envelope import Reply
from schemas.meters import FinishRideRequest
from schemas.rides import RideEvent

# Parsed at import, i.e. when the worker starts: a bad METERS_ROLLOUT stops it here.
settings = load_meter_settings()

ride_events_topic = source_topic(RIDE_EVENTS)
meter_requests_topic = source_topic(METER_REQUESTS)


class MeterUseCases:
    """The use cases, built once the worker's pool and HTTP client are open."""

    ride_events: RideEvents
    finish_ride: FinishRide


use_cases = MeterUseCases()


def build_ports(resources: Resources, settings: MeterSettings) -> MeterPorts:
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


@app.resources.on_open
async def _build_use_cases(resources: Resources) -> None:
    ports = build_ports(resources, settings)
    use_cases.ride_events = RideEvents(ports, settings.rollout)
    use_cases.finish_ride = FinishRide(ports, settings.meter_finish_wait_for_start_s)


async def handle_ride_event(message: Incoming) -> None:
    await use_cases.ride_events(RideEvent.model_validate_json(message.value))


async def handle_finish_ride(message: Incoming) -> Reply:
    request = FinishRideRequest.model_validate_json(message.value)
    try:
        return Reply.success(await use_cases.finish_ride(request))
    except FinishRefused as exc:
        return Reply.failure(exc.code, exc.message)


@app.agent(ride_events_topic, isolated_partitions=True)
async def ride_events(stream: Any) -> None:
    await consume(app, stream, handle_ride_event)


@app.agent(meter_requests_topic, isolated_partitions=True)
async def meter_requests(stream: Any) -> None:
    await consume(app, stream, handle_finish_ride)
