"""Kafka header names of the contract and helpers to read them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CORRELATION_ID = "correlation-id"
REPLY_TO = "reply-to"
# Dead-letter headers, added to the original ones.
DLQ_REASON = "dlq-reason"
DLQ_TOPIC = "dlq-topic"
DLQ_PARTITION = "dlq-partition"
DLQ_OFFSET = "dlq-offset"
# Set by `python -m ops dlq redrive` on a dead letter it re-produces to its topic (kept if
# it is dead-lettered again): where it came from (`dead-letters/<partition>/<offset>`)
# and how many times it has been re-driven.
REDRIVEN_FROM = "redriven-from"
REDRIVE_COUNT = "redrive-count"

Headers = list[tuple[str, bytes]]


def header_items(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> Iterable[tuple[str, bytes]]:
    if headers is None:
        return ()
    return headers.items() if isinstance(headers, Mapping) else headers


def header_map(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None) -> dict[str, str]:
    """Headers as text, whichever shape the client library handed them over in."""
    return {
        key: value.decode("utf-8", "replace")
        for key, value in header_items(headers)
        if value is not None
    }


def encode(values: Mapping[str, str]) -> Headers:
    return [(key, value.encode()) for key, value in values.items()]
