"""The meter use cases over ports: RideEvents routes a ride event to StartMeterRide
(`start_ride.py`, contract 3.2) or CancelMeterRide (here); FinishRide (3.3) is in
`finish_ride.py`. No I/O here but through the ports.
"""

from __future__ import annotations

import structlog

from processors.meters import metrics
from processors.meters.domain import (
    METER_CURRENCY_BY_COUNTRY,
    Disagreement,
    MeterState,
    SkipReason,
)
from processors.meters.errors import PeerError, PeerRejected
from processors.meters.finish_ride import FinishRide
from processors.meters.ports import MeterPorts, MeterRecord
from processors.meters.start_ride import (
    StartMeterRide,
    StartOutcome,
)
from schemas.rides import RideEvent, RideEventType

log = structlog.get_logger(__name__)

__all__ = [
    "CancelMeterRide",
    "FinishRide",
    "MeterPorts",
    "RideEvents",
    "StartMeterRide",
    "StartOutcome",
]


class CancelMeterRide:
    """ride_cancelled -> the order's meter ride, if one runs, is cancelled on the meter."""

    def __init__(self, ports: MeterPorts) -> None:
        self._p = ports

    async def __call__(self, event: RideEvent, record: MeterRecord | None) -> str:
        states = self._p.states
        if record is not None and not record.performer.is_caller(
            event.park_id, event.driver_profile_id
        ):
            metrics.REFUSED_EVENTS.labels(event.event, Disagreement.PERFORMER).inc()
            log.warning(
                "ride_event_refused",
                order_id=event.order_id,
                event_id=event.event_id,
                reason=Disagreement.PERFORMER,
            )
            return f"refused:{Disagreement.PERFORMER}"
        if record is None:
            # A cancel that overtook its start: remember it so a late start does nothing.
            await states.mark_cancelled(event.order_id, event.park_id, event.driver_profile_id)
            return self._skip(event, SkipReason.NO_METER_RIDE)
        if record.state is MeterState.CANCELLED:
            return self._skip(event, SkipReason.ALREADY_HANDLED)
        if record.meter_ride_id is None or record.state is MeterState.FINISHED:
            await states.note(event.order_id, "ride_cancelled_without_running_meter")
            return self._skip(event, SkipReason.NO_METER_RIDE)
        try:
            await self._p.meter.cancel_ride(record.meter_ride_id)
        except PeerRejected as exc:
            outcome = exc.reason if exc.reason == "ride_finished" else "rejected"
            await states.note(event.order_id, "meter_cancel_refused", {"reason": exc.reason})
        except PeerError as exc:
            outcome = "failed"
            await states.note(event.order_id, "meter_cancel_failed", {"reason": exc.reason})
            log.error("meter_cancel_failed", order_id=event.order_id, reason=exc.reason)
        else:
            outcome = "cancelled"
            await states.mark_cancelled(event.order_id, event.park_id, event.driver_profile_id)
            log.info("meter_cancelled", order_id=event.order_id, meter_ride_id=record.meter_ride_id)
        metrics.CANCELS.labels(outcome).inc()
        return outcome

    @staticmethod
    def _skip(event: RideEvent, reason: SkipReason) -> str:
        metrics.SKIPPED_EVENTS.labels(event.event, reason).inc()
        return f"skipped:{reason}"


class RideEvents:
    """Routes one ride event: starts, cancels, and counts the rides of meter countries."""

    def __init__(self, ports: MeterPorts, start: StartMeterRide) -> None:
        self._states = ports.states
        self.start = start
        self.cancel = CancelMeterRide(ports)

    async def __call__(self, event: RideEvent) -> None:
        if event.event is RideEventType.RIDE_STARTED:
            await self.start(event)
            return
        if event.country not in METER_CURRENCY_BY_COUNTRY:
            metrics.SKIPPED_EVENTS.labels(event.event, SkipReason.COUNTRY).inc()
            return
        record = await self._states.get(event.order_id)
        with_meter = record is not None and record.meter_ride_id is not None
        if event.event is RideEventType.RIDE_CANCELLED:
            metrics.ISRAEL_RIDES_CANCELLED.labels(str(with_meter).lower()).inc()
            await self.cancel(event, record)
            return
        # ride_finished: the meter is finished by the app's finish-ride, not here.
        if with_meter:
            success = record is not None and record.state is MeterState.FINISHED
        else:
            success = record is None or record.state is not MeterState.FAILED
        metrics.ISRAEL_RIDES_FINISHED.labels(str(with_meter).lower(), str(success).lower()).inc()
        if record is not None:
            await self._states.note(event.order_id, "ride_finished")
