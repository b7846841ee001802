"""Faust's consumer fetch wait is ours, not its hard-coded 1500 ms."""

from __future__ import annotations

from typing import Any

from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from processors import kafka_transport


def test_broker_urls_select_the_fast_fetch_transport() -> None:
    urls = kafka_transport.broker_urls("127.0.0.1:9092,127.0.0.1:9093", 7)
    assert urls == ["fastkafka://127.0.0.1:9092", "fastkafka://127.0.0.1:9093"]
    assert drivers.by_url(urls[0]) is kafka_transport.Transport
    assert kafka_transport.Transport.Consumer is kafka_transport.FastFetchConsumer


def test_the_worker_consumer_gets_the_configured_wait(monkeypatch: Any) -> None:
    class Built:
        _fetch_max_wait_ms = 1500

    # Stand in for Faust building its consumer with the hard-coded wait.
    monkeypatch.setattr(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_create_worker_consumer",
        lambda self, transport: Built(),
    )
    kafka_transport.broker_urls("127.0.0.1:9092", 4)
    thread = object.__new__(kafka_transport.FastFetchConsumerThread)
    consumer = thread._create_worker_consumer(transport=None)
    assert consumer._fetch_max_wait_ms == 4
