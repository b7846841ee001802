"""StartMeterRide (contract 3.2): ride_started -> a running meter ride, or the failure
table's handling. No I/O but through the ports; every peer failure is a `PeerError`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from processors.meters import metrics
from processors.meters.domain import (
    FAILURE_PLANS,
    Disagreement,
    Money,
    Performer,
    Rollout,
    SkipReason,
    StartStep,
    disagreement,
    event_skip_reason,
    order_skip_reason,
    price_refusal,
    ride_price,
    start_may_run,
    too_late_to_start,
)
from processors.meters.errors import PeerError, RevisionConflict
from processors.meters.ports import (
    MeterPorts,
    MeterRecord,
    OrderSnapshot,
    StartFailure,
    StartRideCommand,
)
from schemas.rides import RideEvent

log = structlog.get_logger(__name__)


T = TypeVar("T")


# How late after the ride started (`occurred_at`) a ride_started may still start the
# meter, by default (METER_START_MAX_AGE).
DEFAULT_MAX_START_AGE_S = 60.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StartOutcome:
    started: bool = False
    meter_ride_id: str | None = None
    skipped: SkipReason | None = None
    refused: Disagreement | None = None
    failed_step: StartStep | None = None


@dataclass(frozen=True)
class _Admitted:
    """An event that may start the meter of this order; `resumed` when an earlier
    attempt was cut short (a worker died mid-start)."""

    order: OrderSnapshot
    resumed: bool


class _StepFailed(Exception):
    """Internal: a start step failed; carries what the failure handling needs."""

    def __init__(self, step: StartStep, reason: str, meter_ride_id: str | None = None) -> None:
        super().__init__(f"{step}: {reason}")
        self.failure = StartFailure(step, reason, meter_ride_id)


class StartMeterRide:
    """ride_started -> a running meter ride with our price, recorded on the order and
    announced to the driver's app; or, when a step fails, the table of contract 3.2.

    The order as order-core returns it is the truth: its performer, country and the
    rollout decide; an event that disagrees with it starts nothing (counted, logged).
    """

    def __init__(
        self,
        ports: MeterPorts,
        rollout: Rollout,
        max_start_age_s: float = DEFAULT_MAX_START_AGE_S,
        clock: Clock = utc_now,
    ) -> None:
        self._p = ports
        self._rollout = rollout
        self._max_start_age_s = max_start_age_s
        self._clock = clock

    async def __call__(self, event: RideEvent) -> StartOutcome:
        started = time.perf_counter()
        admitted = await self._admit(event)
        if not isinstance(admitted, _Admitted):
            return admitted
        outcome = await self._start(event, admitted.order, admitted.resumed)
        label = "started" if outcome.started else "failed"
        metrics.START_DURATION.labels(label).observe(time.perf_counter() - started)
        metrics.STARTS.labels(label, outcome.failed_step or "").inc()
        return outcome

    async def _admit(self, event: RideEvent) -> _Admitted | StartOutcome:
        """The order whose meter this event may start, or the outcome that ends it here."""
        skip = event_skip_reason(event, self._rollout)
        if skip is not None:
            return self._skipped(event, skip)
        if not await self._may_run(event, await self._p.states.get(event.order_id)):
            return self._skipped(event, SkipReason.ALREADY_HANDLED)
        try:
            order = await self._p.orders.get_order(event.order_id)
        except PeerError as exc:
            return await self._order_unreadable(event, exc)
        refused = disagreement(event, order.performer, order.country)
        if refused is not None:
            metrics.REFUSED_EVENTS.labels(event.event, refused).inc()
            log.warning(
                "ride_event_refused",
                order_id=event.order_id,
                event_id=event.event_id,
                reason=refused,
            )
            return StartOutcome(refused=refused)
        skip = order_skip_reason(order.performer, order.country, self._rollout)
        if skip is not None:
            return self._skipped(event, skip)
        performer = order.performer
        existing = await self._p.states.begin_start(
            event.order_id, performer.park_id, performer.driver_profile_id, event.event_id
        )
        if not await self._may_run(event, existing):
            return self._skipped(event, SkipReason.ALREADY_HANDLED)
        return _Admitted(order, resumed=existing is not None)

    async def _may_run(self, event: RideEvent, record: MeterRecord | None) -> bool:
        """False for a repeated or redelivered ride_started (noted on the order)."""
        if record is None or start_may_run(record.state):
            return True
        await self._p.states.note(
            event.order_id,
            "repeated_ride_started",
            {"event_id": event.event_id, "state": record.state},
        )
        return False

    async def _order_unreadable(self, event: RideEvent, exc: PeerError) -> StartOutcome:
        """order-core read failed: stop, no fallback; recorded so a repeat does not retry."""
        existing = await self._p.states.begin_start(
            event.order_id, event.park_id, event.driver_profile_id, event.event_id
        )
        if not await self._may_run(event, existing):
            return self._skipped(event, SkipReason.ALREADY_HANDLED)
        failure = StartFailure(StartStep.ORDER_CORE_READ, exc.reason)
        await self._fail(event, None, failure, None)
        metrics.STARTS.labels("failed", failure.step).inc()
        return StartOutcome(failed_step=failure.step)

    @staticmethod
    def _skipped(event: RideEvent, skip: SkipReason) -> StartOutcome:
        metrics.SKIPPED_EVENTS.labels(event.event, skip).inc()
        log.info("meter_start_skipped", order_id=event.order_id, reason=skip)
        return StartOutcome(skipped=skip)

    async def _start(self, event: RideEvent, order: OrderSnapshot, resumed: bool) -> StartOutcome:
        price = ride_price(event, order.price, order.country or event.country)
        refusal = price_refusal(price)
        if refusal is not None:
            price = None  # not recorded either: the row could not hold it
        try:
            if order.external_meter_ride_id is not None:
                # A start that got this far before (our record lost, or a worker died
                # mid-start): the vendor already has the ride; only the app may not know.
                meter_ride_id = order.external_meter_ride_id
                await self._p.states.note(event.order_id, "meter_ride_already_on_order")
            else:
                if too_late_to_start(event.occurred_at, self._clock(), self._max_start_age_s):
                    if resumed:
                        # The cut-short attempt may have reached the vendor: its ride would
                        # run unbilled. Operators look it up by external_id (the order id).
                        log.warning("meter_start_too_late_after_crash", order_id=event.order_id)
                    raise _StepFailed(StartStep.EVENT_AGE, "too_old")
                meter_ride_id = await self._start_on_meter(order, price, refusal)
                await self._record_on_order(order, meter_ride_id)
            await self._step(
                StartStep.DRIVER_ORDERS_BUILDER,
                self._p.driver_orders.set_external_meter_run(
                    order.performer.park_id,
                    order.performer.driver_profile_id,
                    event.order_id,
                    True,
                ),
                meter_ride_id,
            )
        except _StepFailed as failed:
            failure = failed.failure
            await self._fail(event, order.performer, failure, price)
            return StartOutcome(failed_step=failure.step, meter_ride_id=failure.meter_ride_id)
        await self._p.states.mark_started(event.order_id, meter_ride_id, price)
        log.info("meter_started", order_id=event.order_id, meter_ride_id=meter_ride_id)
        return StartOutcome(started=True, meter_ride_id=meter_ride_id)

    async def _start_on_meter(
        self, order: OrderSnapshot, price: Money | None, price_refused: str | None
    ) -> str:
        performer = order.performer
        if price is None:
            # Checked first: without a price the number must not even be fetched.
            raise _StepFailed(StartStep.METER_START, price_refused or "no_price")
        if order.car_id is None:
            raise _StepFailed(StartStep.FLEET_VEHICLES, "no_car_on_order")
        permit = await self._step(
            StartStep.FLEET_VEHICLES,
            self._p.vehicles.permit_number(performer.park_id, order.car_id),
        )
        pd_id = await self._step(
            StartStep.DRIVER_PROFILES,
            self._p.identity_docs.identity_number_pd_id(
                performer.park_id, performer.driver_profile_id
            ),
        )
        # The number lives only in this frame and the vendor call's body.
        number = await self._step(StartStep.PERSONAL, self._p.personal.identity_number(pd_id))
        ride = await self._step(
            StartStep.METER_START,
            self._p.meter.start_ride(StartRideCommand(order.order_id, permit, number, price)),
        )
        return ride.ride_id

    async def _record_on_order(self, order: OrderSnapshot, meter_ride_id: str) -> None:
        async def write() -> None:
            try:
                await self._p.orders.set_external_meter_ride_id(
                    order.order_id, order.revision, meter_ride_id
                )
            except RevisionConflict:
                # Someone else changed the order since our read: read again, write once more.
                fresh = await self._p.orders.get_order(order.order_id)
                if fresh.external_meter_ride_id != meter_ride_id:
                    await self._p.orders.set_external_meter_ride_id(
                        order.order_id, fresh.revision, meter_ride_id
                    )

        await self._step(StartStep.ORDER_CORE_WRITE, write(), meter_ride_id)

    @staticmethod
    async def _step(step: StartStep, call: Awaitable[T], meter_ride_id: str | None = None) -> T:
        try:
            return await call
        except PeerError as exc:
            raise _StepFailed(step, exc.reason, meter_ride_id) from None

    async def _fail(
        self,
        event: RideEvent,
        performer: Performer | None,
        failure: StartFailure,
        price: Money | None,
    ) -> None:
        plan = FAILURE_PLANS[failure.step]
        detail: dict[str, Any] = {"reason": failure.reason}
        log.warning(
            "meter_start_failed",
            order_id=event.order_id,
            step=failure.step,
            reason=failure.reason,
        )
        if plan.cancel_meter_ride and failure.meter_ride_id is not None:
            # No meter may run unbilled when the order does not know about its ride.
            detail["meter_ride_cancelled"] = await self._attempt(
                "meter_cancel", self._p.meter.cancel_ride(failure.meter_ride_id)
            )
        if plan.fallback and performer is not None:
            detail["setcar_false"] = await self._attempt(
                "setcar",
                self._p.driver_orders.set_external_meter_run(
                    performer.park_id, performer.driver_profile_id, event.order_id, False
                ),
            )
            detail["push_sent"] = await self._attempt(
                "push",
                self._p.notifier.meter_start_failed(
                    performer.park_id, performer.driver_profile_id, event.order_id
                ),
            )
        await self._p.states.mark_failed(event.order_id, failure, price)
        await self._p.states.note(event.order_id, "start_failure_handled", detail)

    @staticmethod
    async def _attempt(part: str, call: Awaitable[object]) -> bool:
        """Run one best-effort part of the failure handling; False (logged) when it fails."""
        try:
            await call
        except PeerError as exc:
            metrics.FALLBACKS.labels(part, "failed").inc()
            log.warning("meter_fallback_part_failed", part=part, reason=exc.reason, peer=exc.peer)
            return False
        metrics.FALLBACKS.labels(part, "ok").inc()
        return True
