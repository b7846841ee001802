"""Which dead letters `ops dlq redrive` sends back, with which headers; what `show` masks."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import pytest

from messaging import headers as h
from ops.dead_letters import decide, redrive_headers
from ops.durations import duration
from ops.kafka_io import DeadLetter
from ops.masking import masked_payload

AT = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def letter(offset: int, **extra: str) -> DeadLetter:
    headers = {
        h.CORRELATION_ID: f"c-{offset}",
        h.REPLY_TO: "replies.ingress-1",
        h.DLQ_REASON: "handler_error: boom",
        h.DLQ_TOPIC: "payment-requests.r1",
        h.DLQ_PARTITION: "3",
        h.DLQ_OFFSET: "41",
        **extra,
    }
    return DeadLetter(0, offset, AT, b"mobi:1", b"{}", h.encode(headers))


def test_a_fresh_dead_letter_goes_back_to_its_base_topic() -> None:
    (decision,) = decide([letter(5)], {}, force=False)
    assert decision.refusal is None
    assert decision.letter.source_topic == "payment-requests"
    assert decision.letter.reason_code == "handler_error"


def test_one_redriven_before_or_dead_lettered_again_needs_force() -> None:
    again = letter(6, **{h.REDRIVE_COUNT: "1"})
    decisions = decide([letter(5), again], {(0, 5): AT}, force=False)
    assert "already re-driven" in (decisions[0].refusal or "")
    assert "dead-lettered again after 1" in (decisions[1].refusal or "")
    assert [d.refusal for d in decide([letter(5), again], {(0, 5): AT}, force=True)] == [
        None,
        None,
    ]


def test_redriven_headers_name_the_origin_count_and_drop_the_reply_address() -> None:
    sent = h.header_map(redrive_headers(letter(6, **{h.REDRIVE_COUNT: "1"})))
    assert sent[h.REDRIVEN_FROM] == "dead-letters/0/6"
    assert sent[h.REDRIVE_COUNT] == "2"
    assert sent[h.CORRELATION_ID] == "c-6"
    assert h.REPLY_TO not in sent
    assert not [name for name in sent if name.startswith("dlq-")]


def test_payloads_are_shown_with_secrets_masked() -> None:
    shown = masked_payload(b'{"qr_code": "secret-qr", "merchant": {"id": "m-1"}}')
    assert shown == {"qr_code": "*** (9 chars masked)", "merchant": {"id": "m-1"}}
    assert masked_payload(b"\x00not json").startswith("<not JSON> .not json")
    cut = masked_payload(b'{"kind": "authorize", "qr_code": "QR-SECRET-123", "amou')
    assert "QR-SECRET" not in cut and '"qr_code": *** (13 chars masked)' in cut
    assert "QR-SECRET" not in masked_payload(b'{"qr_code": "QR-SECRET-12')


def test_durations_read_as_operators_type_them() -> None:
    assert duration("15m").total_seconds() == 900
    assert duration("1.5h").total_seconds() == 5400
    with pytest.raises(argparse.ArgumentTypeError):
        duration("soon")
