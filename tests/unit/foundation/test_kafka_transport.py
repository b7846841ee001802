"""Faust's consumer fetch wait is ours, not its hard-coded 1500 ms."""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from faust.transport import consumer as faust_consumer
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from intervaltree import IntervalTree  # type: ignore[import-untyped]

from processors import kafka_transport
from processors.keyed_concurrency import KeyedConcurrency, PartitionProgress


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


def test_the_consumer_commits_where_the_app_says_not_past_an_unfinished_offset() -> None:
    tp = TP("payment-requests", 3)
    keyed = KeyedConcurrency(10, 10)
    progress = keyed._partitions[tp] = PartitionProgress(10)
    for offset in (31, 32, 33):
        progress.take(offset)
    progress.finish(32)
    progress.finish(33)
    consumer = object.__new__(kafka_transport.FastFetchConsumer)
    consumer.app = SimpleNamespace(commit_points=keyed)  # type: ignore[assignment]
    consumer._acked = defaultdict(list, {tp: [32, 33]})
    consumer._acked_index = defaultdict(set, {tp: {32, 33}})
    consumer._committed_offset = defaultdict(lambda: None, {tp: 31})
    consumer._gap = defaultdict(IntervalTree)

    # faust-streaming's own answer passes 31, which is not finished.
    assert faust_consumer.Consumer._new_offset(consumer, tp) == 34
    consumer._acked[tp], consumer._acked_index[tp] = [32, 33], {32, 33}
    assert consumer._new_offset(tp) == 31
    assert consumer._acked[tp] == []  # its own record is not left to grow
    progress.finish(31)
    assert consumer._new_offset(tp) == 34
