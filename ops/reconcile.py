"""`ops reconcile`: our payments against the payments service's own record of them.

For each payment created within `--since`, GET /internal/v1/payments/{id} and compare.
A difference is reported with its kind; `--fix` applies the service's final state only
where the forward-only rules allow it (processors/payments/domain.py: pending ->
approved|declined|cancelled, approved -> cancelled), in one conditional UPDATE with the
cause `reconcile` in the payment's history. Nothing else is ever changed.

`--every` runs it periodically and serves `reconcile_differences` (and the pending
payments' count and oldest age) on `--metrics-port` for Prometheus: compose runs it as
the `reconciler` service, deploy/prometheus/ scrapes it and alerts on differences. A
separate process, not a timer in the workers: one instance compares (no duplicate
counts across workers), and the hot path never waits for its queries.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import prometheus_client
from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge

from ops.durations import duration
from ops.settings import OpsSettings
from ops.tables import as_json, table
from processors.payments import domain
from schemas.merch_payments import MerchPaymentState, MerchPaymentStatus
from schemas.payments import PaymentStatus

# The kinds of difference, each a label value of the metrics.
FINAL_THERE_NOT_HERE = "final_there_pending_here"
FINAL_HERE_NOT_THERE = "final_here_pending_there"
APPROVED_THERE_NOT_HERE = "approved_there_not_here"
APPROVED_HERE_NOT_THERE = "approved_here_not_there"
MISSING_THERE = "missing_there"
AMOUNT = "amount_differs"
REFUNDED = "refunded_differs"
KINDS = (
    FINAL_THERE_NOT_HERE,
    FINAL_HERE_NOT_THERE,
    APPROVED_THERE_NOT_HERE,
    APPROVED_HERE_NOT_THERE,
    MISSING_THERE,
    AMOUNT,
    REFUNDED,
)

DIFFERENCES = Gauge(
    "reconcile_differences", "Differences found by the last reconciliation run", ["kind"]
)
DIFFERENCES_FOUND = PromCounter(
    "reconcile_differences_found_total", "Differences found, summed over runs", ["kind"]
)
FIXED = PromCounter("reconcile_fixed_total", "Payments settled by reconcile --fix")
LAST_RUN = Gauge(
    "reconcile_last_run_timestamp_seconds", "When the last reconciliation run finished"
)
LAST_RUN_FAILED = Gauge("reconcile_last_run_failed", "1 when the last run could not finish")
# Read from the table on each run: the workers cannot tell how long a payment has waited
# without a query, and this process makes one anyway.
PENDING = Gauge("payments_pending", "Payments not final yet (all partners)")
PENDING_OLDEST = Gauge(
    "payments_pending_oldest_seconds", "Age of the oldest payment that is not final yet"
)

CONCURRENCY = 8

_PENDING = """
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest
FROM payments WHERE status = 'pending'
"""

_SELECT = """
SELECT payment_id, partner, transaction_id, status, decline_reason, amount, currency,
       refunded_total, refunds_pending, peer_status, cancel_owed, created_at
FROM payments
WHERE created_at >= now() - $1::interval AND request_hash IS NOT NULL
ORDER BY created_at
"""

# Forward only, and only to the service's final state (the trigger of 0002 checks too).
_FIX = """
UPDATE payments
SET status = $2, decline_reason = $3, peer_status = $4, cancel_owed = false,
    next_poll_at = NULL, waiters = '[]'::jsonb, updated_at = now(),
    finalized_at = coalesce(finalized_at, now())
WHERE payment_id = $1 AND status = $5
RETURNING payment_id
"""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="compare our payments with the payments service; --fix settles what it may",
        description="For every payment created within --since, ask the payments service "
        "(GET /internal/v1/payments/{id}) for its state and report each difference. "
        "--fix applies the service's final state where our states may move forward "
        "(pending -> approved/declined/cancelled, approved -> cancelled), nothing else.",
    )
    reconcile.add_argument(
        "--since",
        type=duration,
        default=timedelta(hours=24),
        help="how far back to look, by creation time (default 24h)",
    )
    reconcile.add_argument(
        "--fix", action="store_true", help="apply the service's final state where the rules allow"
    )
    reconcile.add_argument("--json", action="store_true", help="print JSON instead of a table")
    reconcile.add_argument(
        "--every", type=duration, help="run again after this long, forever (with --metrics-port)"
    )
    reconcile.add_argument(
        "--metrics-port",
        type=int,
        help="serve Prometheus metrics on this port (reconcile_differences)",
    )
    reconcile.set_defaults(run=run_reconcile)


@dataclass(frozen=True)
class Difference:
    payment_id: str
    transaction: str
    kind: str
    ours: str
    theirs: str
    fix: tuple[PaymentStatus, str | None, str] | None  # status, decline reason, peer status
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "payment_id": self.payment_id,
            "transaction": self.transaction,
            "kind": self.kind,
            "ours": self.ours,
            "theirs": self.theirs,
            "fixable": self.fix is not None,
            "note": self.note,
        }


def compare(
    row: asyncpg.Record | dict[str, Any], theirs: MerchPaymentState | None
) -> list[Difference]:
    """The differences between our row and the service's state (None: it has no such payment)."""
    ours = PaymentStatus(row["status"])
    pid, tx = row["payment_id"], f"{row['partner']}:{row['transaction_id']}"
    ours_text = ours.value + (f" ({row['decline_reason']})" if row["decline_reason"] else "")

    def diff(kind: str, theirs_text: str, fix: Any = None, note: str = "") -> Difference:
        return Difference(pid, tx, kind, ours_text, theirs_text, fix, note)

    if theirs is None:
        if ours is PaymentStatus.APPROVED:
            return [diff(MISSING_THERE, "not found", note="approved here, unknown there")]
        return []  # declined or cancelled here, never created there: consistent
    theirs_text = theirs.status.value + (
        f" ({theirs.decline_reason})" if theirs.decline_reason else ""
    )
    owed = " (a cancel is owed there: the status poll makes it)" if row["cancel_owed"] else ""
    target = domain.outcome_of(theirs.status, theirs.decline_reason)
    found: list[Difference] = []
    if target.status is None:  # pending there
        if domain.is_final(ours):
            found.append(diff(FINAL_HERE_NOT_THERE, theirs_text, note=owed.strip(" ()")))
    elif target.status is not ours:
        fix = None
        if domain.can_move(ours, target.status):
            fix = (
                target.status,
                target.decline_reason.value if target.decline_reason else None,
                theirs.status.value,
            )
        if ours is PaymentStatus.PENDING:
            kind = FINAL_THERE_NOT_HERE
        elif theirs.status is MerchPaymentStatus.CONFIRMED:
            kind = APPROVED_THERE_NOT_HERE
        else:
            kind = APPROVED_HERE_NOT_THERE
        if (
            kind != FINAL_THERE_NOT_HERE
            and row["cancel_owed"]
            and theirs.status
            in (MerchPaymentStatus.CONFIRMED, MerchPaymentStatus.PENDING_ACCEPTANCE)
        ):
            return [diff(kind, theirs_text, note=owed.strip(" ()"))]
        found.append(diff(kind, theirs_text, fix))
    if theirs.amount is not None and row["amount"] is not None and theirs.amount != row["amount"]:
        found.append(diff(AMOUNT, f"amount {theirs.amount}", note=f"ours {row['amount']}"))
    if row["refunds_pending"] == 0 and theirs.refunded_total != row["refunded_total"]:
        found.append(
            diff(
                REFUNDED, f"refunded {theirs.refunded_total}", note=f"ours {row['refunded_total']}"
            )
        )
    return found


async def _their_state(
    client: httpx.AsyncClient, settings: OpsSettings, payment_id: str
) -> MerchPaymentState | None:
    url = f"{settings.payments_service_url.rstrip('/')}/internal/v1/payments/{payment_id}"
    answer = await client.get(url, timeout=settings.payments_service_timeout)
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    return MerchPaymentState.model_validate_json(answer.content)


async def reconcile_once(
    settings: OpsSettings, since: timedelta, fix: bool
) -> tuple[list[Difference], int, int]:
    """(differences, payments compared, payments fixed)."""
    connection = await asyncpg.connect(settings.database_url)
    try:
        pending = await connection.fetchrow(_PENDING)
        PENDING.set(pending["pending"])
        PENDING_OLDEST.set(pending["oldest"])
        rows = await connection.fetch(_SELECT, since)
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient() as client:

            async def check(row: asyncpg.Record) -> list[Difference]:
                async with gate:
                    return compare(row, await _their_state(client, settings, row["payment_id"]))

            found = [d for ds in await asyncio.gather(*(check(r) for r in rows)) for d in ds]
        fixed = 0
        if fix:
            current = {r["payment_id"]: r["status"] for r in rows}
            for difference in found:
                if difference.fix is None:
                    continue
                status, reason, peer_status = difference.fix
                async with connection.transaction():
                    # The cause the history trigger records (migrations/0004_*.sql).
                    await connection.execute(
                        "SELECT set_config('taxi.change_cause', 'reconcile', true)"
                    )
                    moved = await connection.fetchval(
                        _FIX,
                        difference.payment_id,
                        status.value,
                        reason,
                        peer_status,
                        current[difference.payment_id],
                    )
                fixed += moved is not None
        return found, len(rows), fixed
    finally:
        await connection.close()


def _record_metrics(found: list[Difference]) -> None:
    counts = Counter(d.kind for d in found)
    for kind in KINDS:
        DIFFERENCES.labels(kind).set(counts.get(kind, 0))
        if counts.get(kind):
            DIFFERENCES_FOUND.labels(kind).inc(counts[kind])
    LAST_RUN.set(time.time())


def _report(found: list[Difference], compared: int, fixed: int, fix: bool, as_json_: bool) -> None:
    if as_json_:
        print(
            as_json(
                {"compared": compared, "differences": [d.as_dict() for d in found], "fixed": fixed}
            )
        )
        return
    print(f"Compared {compared} payment(s) with the payments service: {len(found)} difference(s).")
    if found:
        print(
            table(
                ["payment id", "transaction", "kind", "ours", "theirs", "fixable", "note"],
                [
                    [
                        d.payment_id,
                        d.transaction,
                        d.kind,
                        d.ours,
                        d.theirs,
                        "yes" if d.fix else "no",
                        d.note,
                    ]
                    for d in found
                ],
            )
        )
    if fix:
        print(f"Fixed {fixed}.")
    elif any(d.fix for d in found):
        print("Run again with --fix to apply the service's final state where the rules allow.")


async def run_reconcile(settings: OpsSettings, args: argparse.Namespace) -> int:
    if args.metrics_port is not None:
        prometheus_client.start_http_server(args.metrics_port)
    while True:
        try:
            found, compared, fixed = await reconcile_once(settings, args.since, args.fix)
        except (OSError, asyncpg.PostgresError, httpx.HTTPError) as exc:
            LAST_RUN_FAILED.set(1)
            if args.every is None:
                raise
            print(f"reconcile run failed: {type(exc).__name__}: {exc}", flush=True)
        else:
            LAST_RUN_FAILED.set(0)
            _record_metrics(found)
            FIXED.inc(fixed)
            _report(found, compared, fixed, args.fix, args.json)
        if args.every is None:
            left = [d for d in found if not (args.fix and d.fix is not None)]
            return 1 if left else 0
        await asyncio.sleep(args.every.total_seconds())
