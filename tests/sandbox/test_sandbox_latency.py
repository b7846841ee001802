"""Realistic peers: a log-normal wait per peer (`/_sandbox/latency`), with the median
and 99th percentile asked for, and `delay_ms` on the `slow` fault."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from sandbox.latency import LatencyProfile
from sandbox.settings import Settings
from tests.sandbox.bodies import PUSH, PUSH_BODY

Json = dict[str, Any]
Journal = Callable[..., Awaitable[list[Json]]]

SEED = 20261130


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, sandbox_latency_seed=SEED, sandbox_fault_slow_seconds=0.05)


async def set_latency(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/_sandbox/latency", json=body)


async def timed_push(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.post(PUSH, json=PUSH_BODY)
    assert response.status_code == 200, response.text
    return (time.perf_counter() - started) * 1000


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_waits_have_the_median_and_p99_asked_for() -> None:
    profile = LatencyProfile("monitex", median_ms=50, p99_ms=200)
    rng = random.Random(SEED)

    samples = [profile.sample_ms(rng) for _ in range(50_000)]

    assert statistics.median(samples) == pytest.approx(50, rel=0.03)
    assert percentile(samples, 0.99) == pytest.approx(200, rel=0.08)
    assert min(samples) > 0


def test_p99_equal_to_median_is_a_constant_wait() -> None:
    profile = LatencyProfile("monitex", median_ms=30, p99_ms=30)

    assert {round(profile.sample_ms(random.Random(i)), 6) for i in range(20)} == {30.0}


async def test_every_call_to_the_peer_waits_its_seeded_random_time(
    client: httpx.AsyncClient, journal: Journal
) -> None:
    answer = await set_latency(client, service="client-notify", median_ms=20, p99_ms=60)
    expected_rng = random.Random(SEED)  # the app's waits come from the same seed, in order
    profile = LatencyProfile("client-notify", 20, 60)

    elapsed = [await timed_push(client) for _ in range(15)]
    expected = [profile.sample_ms(expected_rng) for _ in range(15)]

    assert answer.json() == {"service": "client-notify", "median_ms": 20.0, "p99_ms": 60.0}
    assert all(took >= wait for took, wait in zip(elapsed, expected, strict=True))
    assert statistics.median(elapsed) < 20 * 10  # served after the wait, not stuck
    calls = await journal("client-notify")
    assert [c["status"] for c in calls] == [200] * 15  # the journal still has every call


async def test_other_peers_and_control_calls_stay_instant(client: httpx.AsyncClient) -> None:
    await set_latency(client, service="monitex", median_ms=2000, p99_ms=4000)

    took = await timed_push(client)
    started = time.perf_counter()
    listed = await client.get("/_sandbox/latency")
    control_took = time.perf_counter() - started

    assert took < 1000 and control_took < 1
    assert listed.json() == {
        "latencies": [{"service": "monitex", "median_ms": 2000.0, "p99_ms": 4000.0}]
    }


@pytest.mark.parametrize("how", ["delete", "delete_service", "reset"])
async def test_delete_and_reset_make_peers_instant_again(
    client: httpx.AsyncClient, how: str
) -> None:
    await set_latency(client, service="client-notify", median_ms=2000, p99_ms=2000)
    if how == "delete":
        cleared = await client.delete("/_sandbox/latency")
    elif how == "delete_service":
        cleared = await client.delete("/_sandbox/latency", params={"service": "client-notify"})
    else:
        cleared = await client.post("/_sandbox/reset")

    assert cleared.status_code == 200
    assert (await client.get("/_sandbox/latency")).json() == {"latencies": []}
    assert await timed_push(client) < 1000


@pytest.mark.parametrize(
    "body",
    [
        {"service": "nope", "median_ms": 50, "p99_ms": 200},
        {"service": "monitex", "median_ms": 200, "p99_ms": 50},
        {"service": "monitex", "median_ms": 0, "p99_ms": 50},
        {"service": "monitex", "median_ms": -5, "p99_ms": 50},
        {"service": "monitex", "median_ms": 50, "p99_ms": 10_000_000},
        {"service": "monitex", "median_ms": 50},
        {"service": "monitex", "median_ms": "fast", "p99_ms": 50},
    ],
)
async def test_invalid_latency_is_422_and_changes_nothing(
    client: httpx.AsyncClient, body: Json
) -> None:
    response = await set_latency(client, **body)

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert (await client.get("/_sandbox/latency")).json() == {"latencies": []}


async def test_deleting_latency_of_an_unknown_service_is_422(client: httpx.AsyncClient) -> None:
    response = await client.delete("/_sandbox/latency", params={"service": "nope"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


async def test_slow_fault_waits_its_own_delay_ms(client: httpx.AsyncClient) -> None:
    added = await client.post(
        "/_sandbox/faults",
        json={"service": "client-notify", "operation": "*", "mode": "slow", "delay_ms": 400},
    )

    slow = await timed_push(client)
    again = await timed_push(client)  # the rule stays: `times` was not given

    assert added.status_code == 200 and added.json()["delay_ms"] == 400
    assert slow >= 400 and again >= 400
    await client.delete("/_sandbox/faults")
    await client.post(
        "/_sandbox/faults", json={"service": "client-notify", "operation": "*", "mode": "slow"}
    )
    assert 50 <= await timed_push(client) < 400  # without delay_ms: the settings' default


@pytest.mark.parametrize(
    "extra",
    [
        {"mode": "error", "delay_ms": 100},
        {"mode": "slow", "delay_ms": -1},
        {"mode": "slow", "delay_ms": 10_000_000},
    ],
)
async def test_invalid_delay_ms_is_422(client: httpx.AsyncClient, extra: Json) -> None:
    response = await client.post(
        "/_sandbox/faults", json={"service": "client-notify", "operation": "*", **extra}
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
