"""PostgreSQL record of every order's meter ride (`meter_rides`) and its history
(`meter_ride_history`), see migrations/0003_meters.sql."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import asyncpg

from processors.meters.domain import MeterState, Money, StartStep
from processors.meters.ports import MeterRecord, StartFailure

_COLUMNS = """order_id, state, park_id, driver_profile_id, price, currency, meter_ride_id,
    failed_step, failure_reason, meter_price, meter_currency"""

_HISTORY = "INSERT INTO meter_ride_history (order_id, what, detail) VALUES ($1, $2, $3::jsonb)"


def _record(row: asyncpg.Record) -> MeterRecord:
    price = Money(row["price"], row["currency"]) if row["price"] is not None else None
    meter_price = (
        Money(row["meter_price"], row["meter_currency"]) if row["meter_price"] is not None else None
    )
    return MeterRecord(
        order_id=row["order_id"],
        state=MeterState(row["state"]),
        park_id=row["park_id"],
        driver_profile_id=row["driver_profile_id"],
        price=price,
        meter_ride_id=row["meter_ride_id"],
        failed_step=StartStep(row["failed_step"]) if row["failed_step"] else None,
        failure_reason=row["failure_reason"],
        meter_price=meter_price,
    )


def _json(detail: dict[str, Any] | None) -> str | None:
    return json.dumps(detail, default=str) if detail is not None else None


class PostgresMeterStates:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get(self, order_id: str) -> MeterRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM meter_rides WHERE order_id = $1",  # noqa: S608
            order_id,
        )
        return _record(row) if row is not None else None

    async def begin_start(
        self, order_id: str, park_id: str, driver_profile_id: str, event_id: str
    ) -> MeterRecord | None:
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO meter_rides (order_id, park_id, driver_profile_id, state,
                       start_event_id)
                   VALUES ($1, $2, $3, 'starting', $4)
                   ON CONFLICT (order_id) DO NOTHING
                   RETURNING true""",
                order_id,
                park_id,
                driver_profile_id,
                event_id,
            )
            if inserted:
                await conn.execute(_HISTORY, order_id, "start_begun", _json({"event_id": event_id}))
                return None
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM meter_rides WHERE order_id = $1",  # noqa: S608
                order_id,
            )
            if row is not None and row["state"] == MeterState.STARTING:
                await conn.execute(
                    _HISTORY, order_id, "start_resumed", _json({"event_id": event_id})
                )
        return _record(row)

    async def mark_started(self, order_id: str, meter_ride_id: str, price: Money | None) -> None:
        await self._update(
            order_id,
            "started",
            {"meter_ride_id": meter_ride_id},
            """UPDATE meter_rides SET state = 'started', meter_ride_id = $2, price = $3,
                   currency = $4, failed_step = NULL, failure_reason = NULL, updated_at = now()
               WHERE order_id = $1""",
            meter_ride_id,
            price.amount if price else None,
            price.currency if price else None,
        )

    async def mark_failed(self, order_id: str, failure: StartFailure, price: Money | None) -> None:
        await self._update(
            order_id,
            "start_failed",
            asdict(failure),
            """UPDATE meter_rides SET state = 'failed', failed_step = $2, failure_reason = $3,
                   meter_ride_id = $4, price = $5, currency = $6, updated_at = now()
               WHERE order_id = $1""",
            str(failure.step),
            failure.reason,
            failure.meter_ride_id,
            price.amount if price else None,
            price.currency if price else None,
        )

    async def mark_cancelled(self, order_id: str, park_id: str, driver_profile_id: str) -> None:
        await self._update(
            order_id,
            "cancelled",
            None,
            """INSERT INTO meter_rides (order_id, park_id, driver_profile_id, state)
               VALUES ($1, $2, $3, 'cancelled')
               ON CONFLICT (order_id) DO UPDATE SET state = 'cancelled', updated_at = now()""",
            park_id,
            driver_profile_id,
        )

    async def mark_finished(self, order_id: str, meter_ride_id: str, meter_price: Money) -> None:
        await self._update(
            order_id,
            "finished",
            {"meter_ride_id": meter_ride_id, "meter_price": meter_price.minor_units_text()},
            """UPDATE meter_rides SET state = 'finished', meter_ride_id = $2, meter_price = $3,
                   meter_currency = $4, updated_at = now()
               WHERE order_id = $1""",
            meter_ride_id,
            meter_price.amount,
            meter_price.currency,
        )

    async def note(self, order_id: str, what: str, detail: dict[str, Any] | None = None) -> None:
        await self._pool.execute(_HISTORY, order_id, what, _json(detail))

    async def _update(
        self, order_id: str, what: str, detail: dict[str, Any] | None, sql: str, *args: Any
    ) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(sql, order_id, *args)
            await conn.execute(_HISTORY, order_id, what, _json(detail))
