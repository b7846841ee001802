"""The re-drive producer: a send that returns is on every in-sync replica, and a broker that
cannot take the message fails the command within its timeout instead of hanging it."""

from __future__ import annotations

import pytest

from ops.kafka_io import producer_options
from ops.settings import OpsSettings


def test_a_redrive_waits_for_every_insync_replica() -> None:
    options = producer_options(OpsSettings())
    assert options["acks"] == "all"
    # An idempotent aiokafka producer retries a refused batch forever: the command would hang.
    assert not options.get("enable_idempotence")


def test_a_refused_redrive_gives_up_after_the_send_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert producer_options(OpsSettings())["request_timeout_ms"] == 10_000
    monkeypatch.setenv("OPS_SEND_TIMEOUT_S", "2.5")
    assert producer_options(OpsSettings())["request_timeout_ms"] == 2_500
