"""Answers probe requests at once with the worker's name."""

from __future__ import annotations

from typing import Any

from messaging.topics import PROBE_REQUESTS
from processors.app import app, consume, source_topic
from processors.delivery import Incoming
from schemas.envelope import Reply
from schemas.probe import ProbeRequest, ProbeResult

probe_requests = source_topic(PROBE_REQUESTS)


async def answer_probe(message: Incoming) -> Reply:
    request = ProbeRequest.model_validate_json(message.value)
    return Reply.success(
        ProbeResult(sent_at=request.sent_at, worker=app.resources.settings.worker_id)
    )


@app.agent(probe_requests, isolated_partitions=True)
async def probe(stream: Any) -> None:
    await consume(app, stream, answer_probe)
