"""A processor always answers, and dead-letters what it cannot handle."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from asyncpg import exceptions as pg

from messaging import headers as h
from messaging.topics import DEAD_LETTERS, PAYMENT_REQUESTS, PROBE_REQUESTS
from processors.delivery import Delivery, Incoming, UnhandledMessage
from processors.payments.redaction import redact_command
from schemas.envelope import Reply
from schemas.probe import ProbeRequest
from tests.unit.foundation.recording_producer import RecordingProducer


def _message(value: bytes, reply_to: str | None = "replies.test") -> Incoming:
    headers = {h.CORRELATION_ID: "c-1"}
    if reply_to:
        headers[h.REPLY_TO] = reply_to
    return Incoming(PROBE_REQUESTS, 3, 42, b"k", value, h.encode(headers))


async def _echo(message: Incoming) -> Reply:
    request = ProbeRequest.model_validate_json(message.value)
    return Reply.success({"sent_at": request.sent_at.isoformat()})


async def test_a_handled_request_is_answered_on_its_reply_topic() -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b'{"sent_at": "2026-11-22T10:00:00Z"}'), _echo)
    [sent] = producer.sent
    assert sent["topic"] == "replies.test"
    assert sent["headers"][h.CORRELATION_ID] == b"c-1"
    assert Reply.model_validate_json(sent["value"]).ok


async def test_an_unparseable_message_is_dead_lettered_with_reason_and_original_headers() -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b"not json"), _echo)
    dead, reply = producer.sent
    assert dead["topic"] == DEAD_LETTERS
    assert dead["value"] == b"not json" and dead["key"] == b"k"
    assert dead["headers"][h.CORRELATION_ID] == b"c-1"
    assert dead["headers"][h.DLQ_REASON].startswith(b"invalid_message")
    assert dead["headers"][h.DLQ_TOPIC] == PROBE_REQUESTS.encode()
    assert dead["headers"][h.DLQ_OFFSET] == b"42"
    error = Reply.model_validate_json(reply["value"]).error
    assert error is not None and error.code == "invalid_message"


async def test_a_handler_crash_is_dead_lettered_and_answered_not_raised() -> None:
    async def crash(_: Incoming) -> Reply:
        raise RuntimeError("boom")

    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b"{}"), crash)
    assert [m["topic"] for m in producer.sent] == [DEAD_LETTERS, "replies.test"]
    assert producer.sent[0]["headers"][h.DLQ_REASON].startswith(b"handler_error: RuntimeError")


async def test_an_unhandled_message_without_reply_to_is_only_dead_lettered() -> None:
    async def refuse(_: Incoming) -> Reply:
        raise UnhandledMessage("unknown_command", "no such command")

    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b"{}", reply_to=None), refuse)
    assert [m["topic"] for m in producer.sent] == [DEAD_LETTERS]


async def test_a_reply_to_an_undeclared_topic_is_not_sent() -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(
        _message(b'{"sent_at": "2026-11-22T10:00:00Z"}', reply_to="elsewhere"), _echo
    )
    assert producer.sent == []


DATABASE_AWAY = [
    ConnectionRefusedError("connection refused"),
    TimeoutError(),  # pool acquire timeout, command timeout
    pg.CannotConnectNowError("the database system is starting up"),  # 57P03
    pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
    pg.TooManyConnectionsError("sorry, too many clients already"),
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    pg.LockNotAvailableError("canceling statement due to lock timeout"),
    pg.InterfaceError("pool is closing"),
    # A pooled connection that got the FATAL of a SIGKILLed server, not yet closed.
    pg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
]


def _failing(exc: Exception) -> Callable[[Incoming], Awaitable[Reply]]:
    async def handler(_: Incoming) -> Reply:
        raise exc

    return handler


@pytest.mark.parametrize("exc", DATABASE_AWAY, ids=lambda e: type(e).__name__)
async def test_a_database_that_is_away_is_answered_unavailable_not_dead_lettered(
    exc: Exception,
) -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b"{}"), _failing(exc))
    [reply] = producer.sent
    error = Reply.model_validate_json(reply["value"]).error
    assert reply["topic"] == "replies.test"
    assert error is not None and error.code == "unavailable"


async def test_an_event_met_by_a_database_that_is_away_is_dead_lettered_for_replay() -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(
        _message(b"{}", reply_to=None), _failing(pg.CannotConnectNowError("starting up"))
    )
    [dead] = producer.sent
    assert dead["topic"] == DEAD_LETTERS
    assert dead["headers"][h.DLQ_REASON] == b"unavailable: CannotConnectNowError"


@pytest.mark.parametrize(
    "exc",
    [
        pg.CharacterNotInRepertoireError("invalid byte sequence for encoding UTF8: 0x00"),
        pg.StringDataRightTruncationError("value too long for type character varying(128)"),
        pg.NumericValueOutOfRangeError("numeric field overflow"),
        pg._base.DataError("invalid input for query argument $1: 10**30 (out of range)"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_input_the_database_refuses_is_dead_lettered_and_answered_as_invalid(
    exc: Exception,
) -> None:
    producer = RecordingProducer()
    await Delivery(producer).handle(_message(b"{}"), _failing(exc))
    dead, reply = producer.sent
    assert dead["topic"] == DEAD_LETTERS
    assert dead["headers"][h.DLQ_REASON].startswith(b"invalid_message: the database refused")
    error = Reply.model_validate_json(reply["value"]).error
    assert error is not None and error.code == "invalid_message"


async def test_a_dead_letter_of_a_redacted_topic_keeps_no_qr_code() -> None:
    producer = RecordingProducer()
    delivery = Delivery(producer)
    delivery.redact_dead_letters(PAYMENT_REQUESTS, redact_command)
    command = {"kind": "authorize", "qr_code": "pays-from-the-driver", "amount": 1}
    message = Incoming(
        f"{PAYMENT_REQUESTS}.r1", 0, 7, b"k", json.dumps(command).encode(), h.encode({})
    )

    await delivery.handle(message, _failing(pg.CharacterNotInRepertoireError("0x00")))

    [dead] = producer.sent
    assert json.loads(dead["value"]) == {**command, "qr_code": "[redacted]"}
    await delivery.handle(replace(message, value=b"not json pays-from-the-driver"), _echo)
    assert b"pays-from" not in producer.sent[-1]["value"]


async def test_a_command_that_failed_for_a_passing_reason_is_kept_whole_for_a_redrive() -> None:
    producer = RecordingProducer()
    delivery = Delivery(producer)
    delivery.redact_dead_letters(PAYMENT_REQUESTS, redact_command)
    command = {"kind": "authorize", "qr_code": "pays-from-the-driver", "amount": 1}
    message = Incoming(PAYMENT_REQUESTS, 0, 8, b"k", json.dumps(command).encode(), h.encode({}))

    await delivery.handle(message, _failing(RuntimeError("a bug fixed since")))

    [dead] = producer.sent
    assert dead["headers"][h.DLQ_REASON].startswith(b"handler_error")
    assert json.loads(dead["value"]) == command
