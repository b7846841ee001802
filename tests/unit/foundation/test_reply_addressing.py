"""A reply names the request it answers and goes only to a reply topic."""

from __future__ import annotations

import pytest

from messaging import headers as h
from messaging.topics import PAYMENT_REQUESTS, PROBE_REQUESTS
from processors.delivery import REPLIES_REFUSED, Delivery, Incoming
from schemas.envelope import Reply
from tests.unit.foundation.recording_producer import RecordingProducer


async def _ok(_: Incoming) -> Reply:
    return Reply.success({})


def _request(topic: str, reply_to: str) -> Incoming:
    headers = h.encode({h.CORRELATION_ID: "c-1", h.REPLY_TO: reply_to})
    return Incoming(topic, 0, 1, b"mobi:42", b"{}", headers)


async def test_a_reply_names_the_topic_and_key_of_its_request() -> None:
    producer = RecordingProducer()
    # A slot topic of the rotated payment-requests: the reply names the topics.yaml name.
    await Delivery(producer).handle(_request(f"{PAYMENT_REQUESTS}.r2", "replies.ingress-1"), _ok)
    [sent] = producer.sent
    assert sent["topic"] == "replies.ingress-1"
    assert sent["headers"][h.REPLY_FOR_TOPIC] == PAYMENT_REQUESTS.encode()
    assert sent["headers"][h.REPLY_FOR_KEY] == b"mobi:42"


@pytest.mark.parametrize(
    "reply_to", [PAYMENT_REQUESTS, "dead-letters", "ride-events", "replies.", "replies.a b"]
)
async def test_a_reply_to_that_is_not_a_reply_topic_gets_no_reply(reply_to: str) -> None:
    producer = RecordingProducer()
    before = REPLIES_REFUSED._value.get()
    await Delivery(producer).handle(_request(PROBE_REQUESTS, reply_to), _ok)
    assert producer.sent == []
    assert REPLIES_REFUSED._value.get() == before + 1
