"""Ride events over HTTP (contract 2.3): published to `ride-events` keyed by order_id.

Whether an event starts a meter is the processors' decision (the same events
may reach the topic straight from order systems), so nothing is filtered here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ingress.dependencies import GatewayDep
from ingress.errors import ApiError
from ingress.kafka_gateway import BrokerUnavailable
from ingress.request_context import request_id_var
from ingress.services import require_service
from messaging import headers as h
from messaging.topics import RIDE_EVENTS
from observability.logs import correlation_id_var
from schemas.errors import ErrorBody
from schemas.rides import RideEvent, RideEventAccepted, RideEventBody

router = APIRouter(tags=["ride events"])

Service = Annotated[str, Depends(require_service)]


@router.post(
    "/internal/v1/ride-events",
    status_code=202,
    response_model=RideEventAccepted,
    responses={
        401: {"model": ErrorBody, "description": "service key missing or wrong"},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def publish_ride_event(
    body: RideEventBody, service: Service, gateway: GatewayDep
) -> RideEventAccepted:
    event: RideEvent = body
    headers = {h.CORRELATION_ID: correlation_id_var.get() or event.event_id}
    request_id = request_id_var.get()
    if request_id is not None:  # the caller's X-Request-Id, for tracing only
        headers[h.REQUEST_ID] = request_id
    try:
        await gateway.publish(
            RIDE_EVENTS, event.order_id, event.model_dump_json().encode(), headers
        )
    except BrokerUnavailable as exc:
        raise ApiError.unavailable("The broker is unavailable; the event was not taken.") from exc
    return RideEventAccepted(event_id=event.event_id)
