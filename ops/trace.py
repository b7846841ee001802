"""`ops trace ID`: a payment's or an order's whole story from the database.

ID may be our payment id, a partner's transaction id (`9000001` or `mobi:9000001`) or an
order id. Shown: the current row, every state change with its time and cause (from
`payment_history`, written by a trigger, or `meter_ride_history`), refunds, the peer
calls made for it (`peer_calls`, no bodies), merged into one timeline, and the
correlation ids to search the logs by.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ops.settings import OpsSettings
from ops.tables import as_json, cell, table

PAYMENT_FIELDS = (
    "payment_id, partner, transaction_id, status, decline_reason, amount, currency,"
    " refunded_total, refunds_pending, peer_status, cancel_owed, merchant_id, terminal_id,"
    " waiters, acceptance_deadline, next_poll_at, created_at, updated_at, finalized_at"
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trace = commands.add_parser(
        "trace",
        help="a payment's or an order's whole story",
        description="Everything the system knows about one payment or one order: its "
        "current state, every change with time and cause (partner command, status event, "
        "poll, cancel, refund, reconcile), the calls made to peers for it, and the "
        "correlation ids to search the logs by.",
    )
    trace.add_argument(
        "id",
        metavar="ID",
        help="our payment id, a partner transaction id (9000001 or mobi:9000001) or an order id",
    )
    trace.add_argument("--json", action="store_true", help="print JSON instead of text")
    trace.set_defaults(run=run_trace)


@dataclass
class Step:
    at: datetime
    kind: str  # "change" or "peer call"
    cause: str
    what: str


@dataclass
class Story:
    subject: str  # "payment" or "order"
    key: str
    current: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    correlation_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "id": self.key,
            "current": self.current,
            "steps": [s.__dict__ for s in self.steps],
            "refunds": self.refunds,
            "correlation_ids": self.correlation_ids,
        }


async def find_payment(connection: asyncpg.Connection, ident: str) -> list[asyncpg.Record]:
    partner, sep, transaction = ident.rpartition(":")
    if sep:
        return list(
            await connection.fetch(
                f"SELECT {PAYMENT_FIELDS} FROM payments WHERE partner = $1 AND transaction_id = $2",  # noqa: S608
                partner,
                transaction,
            )
        )
    return list(
        await connection.fetch(
            f"SELECT {PAYMENT_FIELDS} FROM payments WHERE payment_id = $1 OR transaction_id = $1",  # noqa: S608
            ident,
        )
    )


def _describe_change(changes: dict[str, Any], row: asyncpg.Record) -> str:
    if not changes:
        return f"recorded: {row['status']}" + (
            f" (peer {row['peer_status']})" if row["peer_status"] else ""
        )
    parts = []
    for name, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{name} {cell(value[0])} -> {cell(value[1])}")
        else:
            parts.append(f"{name} {value}")
    return "; ".join(parts)


async def _peer_steps(
    connection: asyncpg.Connection, subjects: list[str]
) -> tuple[list[Step], list[str]]:
    rows = await connection.fetch(
        "SELECT at, correlation_id, peer, operation, method, path, outcome, duration_ms"
        " FROM peer_calls WHERE subject = ANY($1::text[]) ORDER BY at, id",
        subjects,
    )
    steps = [
        Step(
            r["at"],
            "peer call",
            r["peer"],
            f"{r['operation']}: {r['method'] or ''} {r['path'] or ''} -> {r['outcome']}"
            f" in {r['duration_ms']:.1f} ms",
        )
        for r in rows
    ]
    return steps, [r["correlation_id"] for r in rows if r["correlation_id"]]


async def payment_story(connection: asyncpg.Connection, row: asyncpg.Record) -> Story:
    current = dict(row)
    waiters = json.loads(current.pop("waiters") or "[]")
    story = Story("payment", row["payment_id"], current)
    history = await connection.fetch(
        "SELECT at, cause, status, peer_status, changes FROM payment_history"
        " WHERE payment_id = $1 ORDER BY id",
        row["payment_id"],
    )
    for h in history:
        story.steps.append(
            Step(h["at"], "change", h["cause"], _describe_change(json.loads(h["changes"]), h))
        )
    refunds = await connection.fetch(
        "SELECT refund_id, amount, status, failure_code, created_at, completed_at"
        " FROM refunds WHERE payment_id = $1 ORDER BY created_at",
        row["payment_id"],
    )
    story.refunds = [dict(r) for r in refunds]
    for r in refunds:
        story.steps.append(
            Step(
                r["created_at"],
                "refund",
                "refund",
                f"refund {r['refund_id']} of {r['amount']} requested",
            )
        )
    # The worker notes calls under the payment id, or the command's key while handling one.
    calls, ids = await _peer_steps(
        connection, [row["payment_id"], f"{row['partner']}:{row['transaction_id']}"]
    )
    story.steps += calls
    story.correlation_ids = _unique(ids + [w.get("correlation_id", "") for w in waiters])
    story.steps.sort(key=lambda s: s.at)
    return story


async def order_story(connection: asyncpg.Connection, order_id: str) -> Story | None:
    row = await connection.fetchrow("SELECT * FROM meter_rides WHERE order_id = $1", order_id)
    history = await connection.fetch(
        "SELECT at, what, detail FROM meter_ride_history WHERE order_id = $1 ORDER BY id",
        order_id,
    )
    calls, ids = await _peer_steps(connection, [order_id])
    if row is None and not history and not calls:
        return None
    story = Story("order", order_id, dict(row) if row is not None else {})
    for h in history:
        detail = h["detail"]
        story.steps.append(
            Step(h["at"], "change", "meter", h["what"] + (f" {detail}" if detail else ""))
        )
    story.steps += calls
    story.steps.sort(key=lambda s: s.at)
    story.correlation_ids = _unique(ids)
    return story


def _unique(values: list[str]) -> list[str]:
    return [v for v in dict.fromkeys(values) if v]


def render(story: Story) -> str:
    lines = [f"{story.subject} {story.key}"]
    lines += [f"  {name}: {cell(value)}" for name, value in story.current.items()]
    lines += ["", "Story (oldest first; cause = what made the change):"]
    lines.append(
        table(
            ["at", "kind", "cause", "what"],
            [[s.at, s.kind, s.cause, s.what] for s in story.steps],
        )
    )
    if story.refunds:
        lines += ["", "Refunds:"]
        lines.append(
            table(list(story.refunds[0].keys()), [list(r.values()) for r in story.refunds])
        )
    lines += ["", "Search the logs by:"]
    key_field = "payment_id" if story.subject == "payment" else "order_id"
    lines.append(f"  {key_field}={story.key}")
    lines += [f"  correlation_id={cid}" for cid in story.correlation_ids]
    return "\n".join(lines)


async def run_trace(settings: OpsSettings, args: argparse.Namespace) -> int:
    connection = await asyncpg.connect(settings.database_url)
    try:
        stories = [
            await payment_story(connection, row) for row in await find_payment(connection, args.id)
        ]
        # Payment ids, transaction ids and order ids never look alike; a payment's calls
        # are also noted under its id, so only look for an order when no payment matched.
        order = None if stories else await order_story(connection, args.id)
        if order is not None:
            stories.append(order)
    finally:
        await connection.close()
    if not stories:
        print(f"Nothing known about {args.id!r} (neither a payment, a transaction nor an order).")
        return 1
    if args.json:
        print(as_json([s.as_dict() for s in stories]))
    else:
        print("\n\n".join(render(s) for s in stories))
    return 0
