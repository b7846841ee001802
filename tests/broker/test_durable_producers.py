"""Producers ask for acks=all everywhere and for idempotence where the broker has it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from messaging.broker_features import broker_features
from processors import kafka_transport


@pytest.fixture(autouse=True)
def _keep_transport_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # broker_urls sets module-wide settings; other tests of this process keep theirs.
    monkeypatch.setattr(kafka_transport, "idempotent_producer", kafka_transport.idempotent_producer)
    monkeypatch.setattr(kafka_transport, "fetch_max_wait_ms", kafka_transport.fetch_max_wait_ms)


def worker_producer_settings(broker: str) -> dict[str, Any]:
    features = broker_features("tansu" if broker == "tansu" else "kafka")
    kafka_transport.broker_urls("127.0.0.1:9092", 15, idempotent=features.idempotent_producer)
    # Only the settings are looked at: a producer that was never started, outside a transaction.
    producer = kafka_transport.DurableProducer.__new__(kafka_transport.DurableProducer)
    producer.app = SimpleNamespace(in_transaction=False)  # type: ignore[assignment]
    return dict(producer._settings_extra())


@pytest.mark.parametrize("broker", ["kafka", "tansu"])
def test_the_worker_producer_waits_for_every_in_sync_replica(broker: str) -> None:
    assert worker_producer_settings(broker)["acks"] == "all"


def test_the_worker_producer_is_idempotent_on_kafka_only() -> None:
    assert worker_producer_settings("kafka").get("enable_idempotence") is True
    assert "enable_idempotence" not in worker_producer_settings("tansu")


def test_only_kafka_has_static_membership() -> None:
    assert broker_features("kafka").static_membership
    assert not broker_features("tansu").static_membership
