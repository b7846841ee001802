"""`ops dlq list|show|redrive`: read the dead-letter topic and send dead letters back.

A re-drive re-produces the original key, value and headers to the topic the message was
consumed from (its current slot on the embedded broker), with `redriven-from` and
`redrive-count`, and without `reply-to` (nobody waits for that answer any more; the
partner reads the state). Every step a processor takes is idempotent, so a re-drive
repeats nothing that already happened. Loops are refused: a dead letter already
re-driven, or dead-lettered again after a re-drive, is only re-driven with `--force`.
Each re-drive is an audit line on stdout and a row in `dead_letter_redrives`.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from messaging import headers as h
from ops.durations import moment
from ops.kafka_io import DeadLetter, Producer, read_dead_letters, topic_rotation
from ops.masking import masked_payload
from ops.settings import OpsSettings
from ops.tables import as_json, cell, table


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = commands.add_parser(
        "dlq",
        help="dead letters: list, show, re-drive",
        description="Messages a processor could not handle are kept in the `dead-letters` "
        "topic with the reason. List them, look at one, or send them back to their topic "
        "once the cause is fixed.",
    )
    sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")

    listing = sub.add_parser(
        "list",
        help="dead letters with their reason, and counts by reason",
        description="One line per dead letter (filters narrow it), then counts by reason.",
    )
    _add_filters(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)

    show = sub.add_parser(
        "show",
        help="one dead letter: headers, reason, payload (secrets masked)",
        description="Everything about one dead letter; QR codes and other secrets in the "
        "payload are masked.",
    )
    show.add_argument("offset", type=int, help="its offset in dead-letters (see `dlq list`)")
    show.add_argument("--partition", type=int, default=0, help="its partition (default 0)")
    show.set_defaults(run=run_show)

    redrive = sub.add_parser(
        "redrive",
        help="send dead letters back to their topic (dry run unless --yes)",
        description="Re-produce dead letters to the topic they came from, so the processors "
        "try them again. Choose them by offset, by filters, or --all. Without --yes only "
        "says what it would do. A dead letter already re-driven, or dead-lettered again "
        "after a re-drive, is skipped unless --force.",
    )
    redrive.add_argument(
        "offsets", type=int, nargs="*", metavar="OFFSET", help="offsets in dead-letters to re-drive"
    )
    redrive.add_argument(
        "--partition", type=int, default=0, help="partition of the OFFSETs (default 0)"
    )
    _add_filters(redrive)
    redrive.add_argument(
        "--all", action="store_true", help="every dead letter (with filters: every one they select)"
    )
    redrive.add_argument("--yes", action="store_true", help="really re-drive (default: dry run)")
    redrive.add_argument(
        "--force", action="store_true", help="re-drive even what was re-driven before"
    )
    redrive.set_defaults(run=run_redrive)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", help="only those consumed from this topic (payment-requests)")
    parser.add_argument("--reason", help="only this reason code (invalid_message, handler_error)")
    parser.add_argument("--since", type=moment, help="only dead-lettered after: 2h ago, or a time")
    parser.add_argument(
        "--until", type=moment, help="only dead-lettered before: 10m ago, or a time"
    )


def selected(letters: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    return [
        d
        for d in letters
        if (args.topic is None or d.source_topic == args.topic)
        and (args.reason is None or d.reason_code == args.reason)
        and (args.since is None or d.at >= args.since)
        and (args.until is None or d.at <= args.until)
    ]


def summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "partition": letter.partition,
        "offset": letter.offset,
        "at": letter.at,
        "topic": letter.source_topic,
        "reason": letter.reason_code,
        "key": letter.key.decode("utf-8", "replace") if letter.key is not None else None,
        "correlation_id": letter.correlation_id,
        "redrive_count": letter.redrive_count,
        "detail": letter.reason,
    }


async def run_list(settings: OpsSettings, args: argparse.Namespace) -> int:
    letters = selected(await read_dead_letters(settings), args)
    by_reason = Counter(d.reason_code for d in letters)
    if args.json:
        print(as_json({"dead_letters": [summary(d) for d in letters], "by_reason": by_reason}))
        return 0
    if not letters:
        print("No dead letters.")
        return 0
    print(
        table(
            ["offset", "dead-lettered at", "topic", "reason", "key", "correlation id", "re-drives"],
            [
                [
                    f"{d.partition}/{d.offset}" if d.partition else d.offset,
                    d.at,
                    d.source_topic,
                    d.reason_code,
                    summary(d)["key"],
                    d.correlation_id,
                    d.redrive_count,
                ]
                for d in letters
            ],
        )
    )
    print()
    print(table(["reason", "count"], sorted(by_reason.items(), key=lambda kv: -kv[1])))
    return 0


async def run_show(settings: OpsSettings, args: argparse.Namespace) -> int:
    letters = [
        d
        for d in await read_dead_letters(settings, args.offset, args.offset)
        if d.partition == args.partition
    ]
    if not letters:
        print(f"No dead letter at offset {args.offset} of partition {args.partition}.")
        return 1
    letter = letters[0]
    print(f"dead letter {letter.partition}/{letter.offset}, dead-lettered at {cell(letter.at)}")
    print(f"reason:  {letter.reason}")
    print(
        f"from:    {letter.header_text.get(h.DLQ_TOPIC)} partition "
        f"{letter.header_text.get(h.DLQ_PARTITION)} offset {letter.header_text.get(h.DLQ_OFFSET)}"
    )
    print(f"key:     {summary(letter)['key']}")
    print("headers:")
    for name, value in letter.header_text.items():
        print(f"  {name}: {value}")
    print("payload (secrets masked):")
    payload = masked_payload(letter.value)
    print(json.dumps(payload, indent=2) if not isinstance(payload, str) else f"  {payload}")
    return 0


@dataclass(frozen=True)
class Decision:
    letter: DeadLetter
    refusal: str | None  # why it is not re-driven; None: it is


async def _earlier_redrives(
    settings: OpsSettings, letters: list[DeadLetter]
) -> dict[tuple[int, int], datetime]:
    connection = await asyncpg.connect(settings.database_url)
    try:
        rows = await connection.fetch(
            "SELECT dead_letter_partition, dead_letter_offset, correlation_id, max(at) AS at"
            " FROM dead_letter_redrives GROUP BY 1, 2, 3"
        )
    finally:
        await connection.close()
    # An offset only counts with the same correlation id: a broker that lost its topics
    # (the embedded one on restart) hands the same offsets to other messages.
    ids = {(d.partition, d.offset): d.correlation_id for d in letters}
    return {
        (r["dead_letter_partition"], r["dead_letter_offset"]): r["at"]
        for r in rows
        if ids.get((r["dead_letter_partition"], r["dead_letter_offset"]), "\0")
        == r["correlation_id"]
    }


def decide(
    letters: list[DeadLetter], earlier: dict[tuple[int, int], datetime], force: bool
) -> list[Decision]:
    decisions = []
    for letter in letters:
        refusal = None
        if not letter.source_topic:
            refusal = "no dlq-topic header: its topic is unknown"
        elif force:
            refusal = None
        elif (letter.partition, letter.offset) in earlier:
            refusal = (
                f"already re-driven at {cell(earlier[(letter.partition, letter.offset)])}"
                " (--force to send it again)"
            )
        elif letter.redrive_count > 0:
            refusal = (
                f"dead-lettered again after {letter.redrive_count} re-drive(s): "
                "fix the cause first (--force to send it again)"
            )
        decisions.append(Decision(letter, refusal))
    return decisions


def redrive_headers(letter: DeadLetter) -> h.Headers:
    kept = [
        (k, v)
        for k, v in letter.headers
        if not k.startswith("dlq-") and k not in (h.REPLY_TO, h.REDRIVEN_FROM, h.REDRIVE_COUNT)
    ]
    return kept + h.encode(
        {
            h.REDRIVEN_FROM: f"dead-letters/{letter.partition}/{letter.offset}",
            h.REDRIVE_COUNT: str(letter.redrive_count + 1),
        }
    )


async def run_redrive(settings: OpsSettings, args: argparse.Namespace) -> int:
    filtered = any(v is not None for v in (args.topic, args.reason, args.since, args.until))
    if not (args.offsets or filtered or args.all):
        print(
            "Choose what to re-drive: OFFSET..., filters (--topic, --reason, --since, "
            "--until) or --all."
        )
        return 2
    letters = selected(await read_dead_letters(settings), args)
    if args.offsets:
        wanted = set(args.offsets)
        letters = [d for d in letters if d.partition == args.partition and d.offset in wanted]
        missing = wanted - {d.offset for d in letters}
        if missing:
            print(f"No dead letter at offset(s) {sorted(missing)} of partition {args.partition}.")
    decisions = decide(letters, await _earlier_redrives(settings, letters), args.force)
    todo = [d.letter for d in decisions if d.refusal is None]
    for decision in decisions:
        if decision.refusal is not None:
            print(f"skip {decision.letter.partition}/{decision.letter.offset}: {decision.refusal}")
    if not args.yes:
        for letter in todo:
            print(
                f"would re-drive {letter.partition}/{letter.offset} ({letter.reason_code}) "
                f"to {letter.source_topic}"
            )
        print(f"Dry run: {len(todo)} to re-drive. Add --yes to do it.")
        return 0
    if not todo:
        print("Nothing to re-drive.")
        return 0
    rotation = await topic_rotation(settings)
    connection = await asyncpg.connect(settings.database_url)
    try:
        async with Producer(settings, rotation) as producer:
            for letter in todo:
                produced = await producer.send(
                    letter.source_topic, letter.key, letter.value, redrive_headers(letter)
                )
                audit = {
                    "audit": "dlq_redrive",
                    "at": cell(datetime.now(UTC)),
                    "operator": settings.ops_operator,
                    "dead_letter": f"{letter.partition}/{letter.offset}",
                    "reason": letter.reason_code,
                    "correlation_id": letter.correlation_id,
                    "to": f"{produced.topic}/{produced.partition}/{produced.offset}",
                    "redrive_count": letter.redrive_count + 1,
                    "forced": args.force,
                }
                # The line first: the message is on its way whatever happens next.
                print(json.dumps(audit), flush=True)
                await connection.execute(
                    "INSERT INTO dead_letter_redrives (dead_letter_partition, dead_letter_offset,"
                    " correlation_id, reason, target_topic, target_partition, target_offset,"
                    " redrive_count, forced, operator) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
                    letter.partition,
                    letter.offset,
                    letter.correlation_id,
                    letter.reason_code,
                    produced.topic,
                    produced.partition,
                    produced.offset,
                    letter.redrive_count + 1,
                    args.force,
                    settings.ops_operator,
                )
    finally:
        await connection.close()
    print(f"Re-drove {len(todo)}.")
    return 0
