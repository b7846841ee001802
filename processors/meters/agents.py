"""Faust agents of the meters capability (topic -> service).

`ride-events` starts and cancels meter rides; `meter-requests` carries the Pro
app's finish, answered on the reply topic. Both keyed by order_id and consumed
concurrently by key (processors/keyed_concurrency.py): one order's events in order,
other orders at the same time, so a hanging Monitex call holds up only its own order.
The use cases come from `processors.wiring` (built by `processors.bootstrap`).
"""

from __future__ import annotations

from typing import Any

from messaging.topics import METER_REQUESTS, RIDE_EVENTS
from observability.peer_journal import journal_subject
from processors.app import app, consume, source_topic
from processors.delivery import Incoming
from processors.meters.errors import FinishRefused
from processors.wiring import wiring
from schemas.envelope import Reply
from schemas.meters import FinishRideRequest
from schemas.rides import RideEvent

ride_events_topic = source_topic(RIDE_EVENTS)
meter_requests_topic = source_topic(METER_REQUESTS)


async def handle_ride_event(message: Incoming) -> None:
    event = RideEvent.model_validate_json(message.value)
    with journal_subject(event.order_id):
        await wiring.use_cases.meters.ride_events(event)


async def handle_finish_ride(message: Incoming) -> Reply:
    request = FinishRideRequest.model_validate_json(message.value)
    try:
        with journal_subject(request.order_id):
            return Reply.success(await wiring.use_cases.meters.finish_ride(request))
    except FinishRefused as exc:
        return Reply.failure(exc.code, exc.message)


@app.agent(ride_events_topic, isolated_partitions=True)
async def ride_events(stream: Any) -> None:
    await consume(app, stream, handle_ride_event)


@app.agent(meter_requests_topic, isolated_partitions=True)
async def meter_requests(stream: Any) -> None:
    await consume(app, stream, handle_finish_ride)
