"""Request/reply over Kafka through real processes: replies reach the instance that asked."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from messaging import headers as h
from messaging.topics import DEAD_LETTERS, PROBE_REQUESTS, reply_topic
from schemas.envelope import Reply
from schemas.probe import ProbeRequest
from tests.integration.conftest import RunningStack


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_two_ingress_instances_each_get_their_own_replies_under_load(
    stack: RunningStack,
) -> None:
    assert len(stack.internal_urls) == 2
    async with httpx.AsyncClient(timeout=10) as client:
        late_before = [
            _metric((await client.get(f"{url}/metrics")).text, "kafka_late_replies_total")
            for url in stack.internal_urls
        ]
        requests = [
            client.post(f"{stack.internal_urls[i % 2]}/internal/v1/probe") for i in range(200)
        ]
        responses = await asyncio.gather(*requests)
        assert [r.status_code for r in responses] == [200] * 200
        for url, before in zip(stack.internal_urls, late_before, strict=True):
            metrics = (await client.get(f"{url}/metrics")).text
            # A reply that went to the wrong instance would time out there and arrive late.
            assert _metric(metrics, "kafka_late_replies_total") == before
            assert _metric(metrics, "kafka_requests_awaiting_reply") == 0


async def test_a_poison_message_is_dead_lettered_and_its_partition_keeps_serving(
    stack: RunningStack,
) -> None:
    instance = f"test-{uuid.uuid4().hex[:8]}"
    replies = reply_topic(instance)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(replies, 1, 1)])
    await admin.close()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=stack.bootstrap_servers, group_id=None, fetch_max_wait_ms=5
    )
    await consumer.start()
    reply_partition = TopicPartition(replies, 0)
    dead_partition = TopicPartition(DEAD_LETTERS, 0)
    consumer.assign([reply_partition, dead_partition])
    await consumer.seek_to_end(reply_partition, dead_partition)
    await consumer.position(reply_partition)
    await consumer.position(dead_partition)

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers)
    await producer.start()
    try:
        poison_id, good_id = f"poison-{instance}", f"good-{instance}"
        for correlation_id, value in (
            (poison_id, b"\x00 not a probe"),
            (good_id, ProbeRequest(sent_at=datetime.now(UTC)).model_dump_json().encode()),
        ):
            await producer.send_and_wait(
                PROBE_REQUESTS,
                value=value,
                key=b"same-key",
                partition=2,
                headers=h.encode({h.CORRELATION_ID: correlation_id, h.REPLY_TO: replies}),
            )

        seen: dict[str, dict[str, object]] = {}
        async with asyncio.timeout(20):
            while not {"dead", good_id} <= seen.keys():
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    for record in records:
                        headers = h.header_map(record.headers)
                        if tp.topic == DEAD_LETTERS and headers.get(h.CORRELATION_ID) == poison_id:
                            seen["dead"] = {"value": record.value, **headers}
                        elif tp.topic == replies:
                            reply = Reply.model_validate_json(record.value)
                            seen[headers[h.CORRELATION_ID]] = reply.model_dump()
    finally:
        await producer.stop()
        await consumer.stop()

    dead = seen["dead"]
    assert dead["value"] == b"\x00 not a probe"
    assert str(dead[h.DLQ_REASON]).startswith("invalid_message")
    assert dead[h.DLQ_TOPIC] == PROBE_REQUESTS and dead[h.DLQ_PARTITION] == "2"
    assert dead[h.REPLY_TO] == replies  # the original headers travel along
    assert seen[good_id]["ok"] is True
    assert seen[poison_id]["ok"] is False  # the sender of the poison got an error reply


def test_health_reports_each_dependency(stack: RunningStack) -> None:
    response = httpx.get(f"{stack.ingress_url}/health", timeout=10)
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert {name: check["ok"] for name, check in checks.items()} == {
        "broker": True,
        "database": True,
        "processors": True,
    }


def test_errors_have_the_contract_shape(stack: RunningStack) -> None:
    missing = httpx.get(f"{stack.ingress_url}/no/such/path", timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "Not Found"}
    assert missing.headers["x-request-id"]


def test_the_request_id_travels_in_and_out(stack: RunningStack) -> None:
    response = httpx.post(
        f"{stack.internal_url}/internal/v1/probe", headers={"X-Request-Id": "trace-me-42"}
    )
    assert response.headers["x-request-id"] == "trace-me-42"


def test_openapi_and_metrics_are_served(stack: RunningStack) -> None:
    spec = httpx.get(f"{stack.internal_url}/openapi.json", timeout=5).json()
    assert "/internal/v1/probe" in spec["paths"]
    assert httpx.get(f"{stack.internal_url}/docs", timeout=5).status_code == 200
    for url in (stack.internal_url, *stack.worker_urls):
        metrics = httpx.get(f"{url}/metrics", timeout=5)
        assert metrics.status_code == 200 and "python_info" in metrics.text
    worker_health = httpx.get(f"{stack.worker_urls[0]}/health", timeout=5)
    assert worker_health.status_code == 200, json.dumps(worker_health.json())
