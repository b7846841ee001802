"""What operators watch: metrics with the right values after real traffic, and one
correlation id followed through the log lines of ingress, worker and sandbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.bodies import authorize_body, new_qr_code, sandbox_driver
from tests.integration.conftest import RunningStack, wait_for
from tests.integration.meters.conftest import Meters
from tests.integration.payments.conftest import MOBI_KEY, new_transaction_id

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


@pytest.fixture
def meters(stack: RunningStack) -> Iterator[Meters]:
    helper = Meters(stack)
    try:
        yield helper
    finally:
        helper.close()


def _driver(stack: RunningStack, balance: int) -> str:
    qr = new_qr_code()
    driver = sandbox_driver(qr, balance=balance, park_id="park-metrics")
    httpx.post(f"{stack.sandbox_url}/_sandbox/drivers", json=driver, timeout=5).raise_for_status()
    return qr


def _authorize(stack: RunningStack, tx: int, qr: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{stack.ingress_url}/mobi/v1/payments",
        json=authorize_body(tx, qr, 1000),
        headers={"Authorization": f"Bearer {MOBI_KEY}", **headers},
        timeout=30,
    )


def test_metrics_count_payments_rides_peer_calls_and_kafka_after_real_traffic(
    stack: RunningStack, meters: Meters
) -> None:
    ingress_url, worker_url = stack.ingress_url, stack.worker_urls[0]
    worker_before, ingress_before = scrape(worker_url), scrape(stack.internal_url)

    rich, poor = _driver(stack, 1_000_000), _driver(stack, 10)
    transactions = [new_transaction_id() for _ in range(4)]
    outcomes = [
        _authorize(stack, tx, qr).json()["status"]
        for tx, qr in zip(transactions, (rich, rich, rich, poor), strict=True)
    ]
    assert outcomes == ["approved", "approved", "approved", "declined"]
    partner = {"Authorization": f"Bearer {MOBI_KEY}"}
    cancel = httpx.post(
        f"{ingress_url}/mobi/v1/payments/{transactions[0]}/cancel", headers=partner, timeout=30
    )
    refund = httpx.post(
        f"{ingress_url}/mobi/v1/payments/{transactions[1]}/refunds",
        json={"refund_id": f"r-{uuid.uuid4().hex}", "amount": 400},
        headers=partner,
        timeout=30,
    )
    assert (cancel.status_code, refund.status_code) == (200, 200)
    ride = meters.new_ride()
    assert meters.start(ride)["state"] == "started"
    assert meters.finish(ride).status_code == 200
    meters.ride_event(ride, "ride_finished")

    def worker_delta(name: str, **labels: str) -> float:
        return value(scrape(worker_url), name, **labels) - value(worker_before, name, **labels)

    wait_for(
        lambda: worker_delta("israel_rides_finished_total", smart_meter="true") >= 1,
        timeout=10,
        what="the ride_finished event counted",
    )
    worker_after, ingress_after = scrape(worker_url), scrape(stack.internal_url)

    def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    payments = ("payments_total",)
    assert delta(worker_after, worker_before, *payments, partner="mobi", outcome="approved") == 3
    assert (
        delta(
            worker_after,
            worker_before,
            *payments,
            partner="mobi",
            outcome="declined",
            decline_reason="insufficient_funds",
        )
        == 1
    )
    assert delta(worker_after, worker_before, "meter_starts_total", outcome="started") == 1
    assert delta(worker_after, worker_before, "meter_finishes_total", outcome="ok") == 1
    assert delta(worker_after, worker_before, "meter_start_duration_seconds_count") == 1
    assert (
        delta(
            worker_after,
            worker_before,
            "peer_calls_total",
            peer="contractor-merch-payments",
            outcome="ok",
        )
        >= 4
    )
    assert delta(worker_after, worker_before, "peer_calls_total", peer="monitex") >= 2
    assert (
        delta(worker_after, worker_before, "peer_call_duration_seconds_count", peer="order-core")
        >= 1
    )
    assert (
        delta(
            ingress_after,
            ingress_before,
            "http_requests_total",
            handler="/mobi/v1/payments",
            method="POST",
            status="200",
        )
        == 4
    )
    assert (
        value(ingress_after, "http_request_duration_max_seconds", handler="/mobi/v1/payments") > 0
    )
    for name in (
        "kafka_requests_awaiting_reply",
        "kafka_late_replies_total",
        "http_request_duration_seconds_count",
    ):
        assert name in names(ingress_after), name
    assert delta(worker_after, worker_before, "payment_cancels_total", partner="mobi") == 1
    assert delta(worker_after, worker_before, "payment_refunds_total", partner="mobi") == 1
    assert {"kafka_consumer_lag", "peer_call_duration_max_seconds"} <= names(worker_after)
    assert value(worker_after, "kafka_consumer_lag", topic="payment-requests") == 0


def test_no_metric_label_carries_a_qr_code_key_or_id(stack: RunningStack, meters: Meters) -> None:
    qr = _driver(stack, 1_000_000)
    tx = new_transaction_id()
    _authorize(stack, tx, qr)
    text = httpx.get(f"{stack.worker_urls[0]}/metrics", timeout=5).text
    text += httpx.get(f"{stack.internal_url}/metrics", timeout=5).text
    for secret in (qr, MOBI_KEY, str(tx)):
        assert secret not in text


def test_one_correlation_id_is_followed_through_ingress_worker_and_sandbox(
    stack: RunningStack,
) -> None:
    request_id = f"trace-{uuid.uuid4().hex}"
    qr = _driver(stack, 1_000_000)
    answer = _authorize(stack, new_transaction_id(), qr, **{"X-Request-Id": request_id})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == request_id
    # The caller's id is carried for tracing; the ingress's own id routes the reply and
    # prefixes the correlation id every process logs.
    ours = answer.headers["x-correlation-id"]
    assert ours != request_id

    def processes_with_the_id() -> set[str]:
        found = set()
        for line in stack.log_text().splitlines():
            if ours not in line or "|" not in line:
                continue
            name, _, payload = line.partition(" | ")
            record = json.loads(payload)
            if str(record.get("correlation_id", "")).startswith(ours):
                found.add(name.strip().rstrip("-0123456789") or name)
        return found

    found = wait_for(
        lambda: (p := processes_with_the_id()) >= {"ingress", "worker", "sandbox"} and p,
        timeout=10,
        what="log lines carrying the id in ingress, worker and sandbox",
    )
    assert {"ingress", "worker", "sandbox"} <= found
