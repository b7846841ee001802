"""Driver app (Pro) meter endpoints (contract 2.2): finish the ride on the smart meter.

The request is published to `meter-requests` keyed by order_id and held until the
processor's reply or FINISH_RIDE_TIMEOUT; the caller's identity comes from the
headers the driver-authorization gateway sets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header

from ingress.dependencies import GatewayDep, SettingsDep
from ingress.errors import ApiError
from ingress.kafka_gateway import BrokerUnavailable, ReplyTimeout
from messaging.topics import METER_REQUESTS
from schemas.errors import ErrorBody
from schemas.meters import FinishRideAnswer, FinishRideBody, FinishRideRequest
from schemas.text import ID_PATTERN


@dataclass(frozen=True)
class Caller:
    """The driver the authorization gateway vouches for."""

    park_id: str
    driver_profile_id: str


_IDENTITY = re.compile(ID_PATTERN)


async def _caller(
    x_yataxi_park_id: Annotated[str | None, Header()] = None,
    x_yataxi_driver_profile_id: Annotated[str | None, Header()] = None,
) -> Caller:
    # A dependency is solved before the body: no identity is 401 whatever the body holds.
    # Checked here rather than by the Header's own pattern, whose failure would be a 422.
    if not x_yataxi_park_id or not x_yataxi_driver_profile_id:
        raise ApiError(401, "unauthorized", "The driver's identity headers are missing.")
    malformed = [
        name
        for name, value in (
            ("X-YaTaxi-Park-Id", x_yataxi_park_id),
            ("X-YaTaxi-Driver-Profile-Id", x_yataxi_driver_profile_id),
        )
        if not _IDENTITY.fullmatch(value)
    ]
    if malformed:
        raise ApiError(
            400,
            "invalid_request",
            "The driver's identity headers must be 1..64 of [A-Za-z0-9_-].",
            details=[{"field": f"header.{name}"} for name in malformed],
        )
    return Caller(x_yataxi_park_id, x_yataxi_driver_profile_id)


CallerDep = Annotated[Caller, Depends(_caller)]

router = APIRouter(tags=["driver app"])

_ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "identity headers malformed",
        401: "identity headers missing",
        403: "not_order_performer",
        404: "meter_ride_not_found",
        502: "meter_unavailable",
        503: "order_core_unavailable, or the broker is unavailable",
        504: "timeout",
    }.items()
}


@router.post(
    "/driver/v1/meters-integration-api/finish-ride",
    response_model=FinishRideAnswer,
    responses=_ERRORS,
)
async def finish_ride(
    body: FinishRideBody, caller: CallerDep, gateway: GatewayDep, settings: SettingsDep
) -> FinishRideAnswer:
    request = FinishRideRequest(
        order_id=body.order_id,
        price=body.price,
        park_id=caller.park_id,
        driver_profile_id=caller.driver_profile_id,
    )
    try:
        reply = await gateway.request(
            METER_REQUESTS,
            body.order_id,
            request.model_dump_json().encode(),
            timeout_s=settings.finish_ride_timeout,
        )
    except BrokerUnavailable as exc:
        raise ApiError.unavailable("The broker is unavailable.") from exc
    except ReplyTimeout as exc:
        raise ApiError(504, "timeout", "The meter did not answer in time.") from exc
    if not reply.ok or reply.result is None:
        if reply.error is None:
            raise ApiError(502, "invalid_reply", "The processor sent an empty reply.")
        raise ApiError.from_reply(reply.error)
    return FinishRideAnswer.model_validate(reply.result)
