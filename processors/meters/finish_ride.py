"""FinishRide (contract 3.3): the Pro app's finish, answered with the meter's price."""

from __future__ import annotations

import asyncio
import time

import structlog

from processors.meters import metrics
from processors.meters.domain import METER_CURRENCY_BY_COUNTRY, MeterState, Money
from processors.meters.errors import FinishRefused, PeerError, PeerNotFound, PeerRejected
from processors.meters.ports import MeterPorts, MeterRecord, OrderSnapshot
from schemas.meters import FinishRideAnswer, FinishRideRequest

log = structlog.get_logger(__name__)


# Vendor refusals on finish that mean "there is no running ride to finish".
_NO_RIDE_REASONS = frozenset({"ride_not_found", "ride_cancelled"})


class FinishRide:
    """The app's finish: check the caller is the performer, finish the meter ride with
    our price, answer the meter's price. A repeat gets the first answer."""

    def __init__(
        self, ports: MeterPorts, wait_for_start_s: float, poll_interval_s: float = 0.05
    ) -> None:
        self._p = ports
        self._wait_for_start_s = wait_for_start_s
        self._poll_interval_s = poll_interval_s

    async def __call__(self, request: FinishRideRequest) -> FinishRideAnswer:
        try:
            answer = await self._finish(request)
        except FinishRefused as exc:
            metrics.FINISHES.labels(exc.code).inc()
            log.info("meter_finish_refused", order_id=request.order_id, code=exc.code)
            raise
        metrics.FINISHES.labels("ok").inc()
        return answer

    async def _finish(self, request: FinishRideRequest) -> FinishRideAnswer:
        order = await self._read_order(request.order_id)
        if not order.performer.is_caller(request.park_id, request.driver_profile_id):
            raise FinishRefused("not_order_performer", "The order is another driver's.")
        record = await self._p.states.get(request.order_id)
        if (
            record is not None
            and record.state is MeterState.FINISHED
            and record.meter_price is not None
            and record.meter_ride_id is not None
        ):
            return _answer(request.order_id, record.meter_ride_id, record.meter_price)
        meter_ride_id = order.external_meter_ride_id
        if meter_ride_id is None and record is not None and record.state is MeterState.STARTING:
            # The finish overtook its start (they travel on different topics).
            record = await self._wait_for_start(request.order_id)
            if record is not None and record.state is MeterState.STARTED:
                meter_ride_id = record.meter_ride_id
        if meter_ride_id is None:
            raise FinishRefused("meter_ride_not_found", "No meter ride was started for the order.")
        currency = _currency(record, order)
        try:
            finished = await self._p.meter.finish_ride(
                meter_ride_id, Money(request.price, currency)
            )
        except PeerRejected as exc:
            if isinstance(exc, PeerNotFound) or exc.reason in _NO_RIDE_REASONS:
                raise FinishRefused(
                    "meter_ride_not_found", "The meter has no running ride for the order."
                ) from None
            raise FinishRefused("meter_unavailable", "The meter refused the finish.") from None
        except PeerError:
            raise FinishRefused("meter_unavailable", "The meter could not be reached.") from None
        await self._p.states.mark_finished(request.order_id, meter_ride_id, finished.meter_price)
        return _answer(request.order_id, meter_ride_id, finished.meter_price)

    async def _read_order(self, order_id: str) -> OrderSnapshot:
        try:
            return await self._p.orders.get_order(order_id)
        except PeerNotFound:
            raise FinishRefused("meter_ride_not_found", "The order is unknown.") from None
        except PeerError:
            raise FinishRefused(
                "order_core_unavailable", "The order's fields could not be read."
            ) from None

    async def _wait_for_start(self, order_id: str) -> MeterRecord | None:
        deadline = time.monotonic() + self._wait_for_start_s
        while True:
            record = await self._p.states.get(order_id)
            if record is None or record.state is not MeterState.STARTING:
                return record
            if time.monotonic() >= deadline:
                return record
            await asyncio.sleep(self._poll_interval_s)


def _currency(record: MeterRecord | None, order: OrderSnapshot) -> str:
    if record is not None and record.price is not None:
        return record.price.currency
    return METER_CURRENCY_BY_COUNTRY.get(order.country or "", METER_CURRENCY_BY_COUNTRY["ISR"])


def _answer(order_id: str, meter_ride_id: str, meter_price: Money) -> FinishRideAnswer:
    return FinishRideAnswer(
        order_id=order_id,
        price=meter_price.amount,
        currency=meter_price.currency,
        meter_ride_id=meter_ride_id,
    )
