"""Kafka header names of the contract and helpers to read them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CORRELATION_ID = "correlation-id"
REPLY_TO = "reply-to"
# The HTTP caller's X-Request-Id, for tracing only (never used to route a reply).
REQUEST_ID = "request-id"
# On a reply: the topics.yaml name and the key of the request it answers, so the
# ingress can check a reply against the request waiting under its correlation id.
REPLY_FOR_TOPIC = "reply-for-topic"
REPLY_FOR_KEY = "reply-for-key"
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
