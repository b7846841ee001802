"""The round trip ingress -> processors -> reply topic, used by /health and the benchmarks."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from ingress.errors import ApiError
from ingress.kafka_gateway import BrokerUnavailable, KafkaGateway, ReplyTimeout
from messaging.topics import PROBE_REQUESTS
from schemas.probe import ProbeRequest, ProbeResult


async def probe_round_trip(gateway: KafkaGateway, timeout_s: float) -> tuple[ProbeResult, float]:
    """The worker that answered and the round trip in milliseconds."""
    started = time.perf_counter()
    request = ProbeRequest(sent_at=datetime.now(UTC))
    try:
        reply = await gateway.request(
            PROBE_REQUESTS,
            uuid.uuid4().hex,
            request.model_dump_json().encode(),
            timeout_s=timeout_s,
        )
    except BrokerUnavailable as exc:
        raise ApiError.unavailable("The broker is unavailable.") from exc
    except ReplyTimeout as exc:
        raise ApiError(504, "timeout", "No processor answered in time.") from exc
    if not reply.ok or reply.result is None:
        raise ApiError(502, "probe_failed", "The processor answered with an error.")
    elapsed_ms = (time.perf_counter() - started) * 1000
    return ProbeResult.model_validate(reply.result), elapsed_ms
