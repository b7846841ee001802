"""The Monitex adapter against a mock of the vendor API: request shapes, prices as
decimal strings, the vendor's errors mapped to ours, no number in any error."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from prometheus_client import REGISTRY

from processors.adapters.monitex import MonitexMeter
from processors.meters.domain import Money
from processors.meters.errors import PeerError, PeerNotFound, PeerRejected, PeerUnavailable
from processors.meters.ports import IdentityNumber, StartRideCommand

BASE = "http://vendor.test/monitex"
NUMBER = "ID-NUMBER-SECRET-99"
Handler = Callable[[httpx.Request], httpx.Response]


def meter(handler: Handler, seen: list[httpx.Request] | None = None) -> MonitexMeter:
    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return handler(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(record))
    return MonitexMeter(client, BASE, "key-1", timeout_s=0.5)


def command(price: str = "48.5") -> StartRideCommand:
    return StartRideCommand("o-1", "PERMIT-1", IdentityNumber(NUMBER), Money(Decimal(price), "ILS"))


def calls(operation: str, outcome: str) -> float:
    labels = {"peer": "monitex", "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("peer_calls_total", labels) or 0.0


async def test_start_sends_the_contracts_body_with_the_api_key() -> None:
    seen: list[httpx.Request] = []
    before = calls("start_ride", "ok")
    ride = await meter(
        lambda _: httpx.Response(200, json={"ride_id": "r-1", "status": "running"}), seen
    ).start_ride(command())

    assert (ride.ride_id, ride.status) == ("r-1", "running")
    [request] = seen
    assert request.url == f"{BASE}/v0.2/rides"
    assert request.headers["X-Api-Key"] == "key-1"
    assert json.loads(request.content) == {
        "external_id": "o-1",
        "permit_number": "PERMIT-1",
        "driver_id_number": NUMBER,
        "price": {"amount": "48.50", "currency": "ILS"},
    }
    assert calls("start_ride", "ok") == before + 1


async def test_finish_sends_our_price_and_reads_the_meters() -> None:
    seen: list[httpx.Request] = []
    answer = {
        "ride_id": "r-1",
        "status": "finished",
        "meter_price": {"amount": "52.30", "currency": "ILS"},
    }
    finished = await meter(lambda _: httpx.Response(200, json=answer), seen).finish_ride(
        "r-1", Money(Decimal("48.5"), "ILS")
    )

    assert finished.meter_price == Money(Decimal("52.30"), "ILS")
    assert seen[0].url == f"{BASE}/v0.2/rides/r-1/finish"
    assert json.loads(seen[0].content) == {"price": {"amount": "48.50", "currency": "ILS"}}


async def test_cancel_posts_to_the_rides_cancel() -> None:
    seen: list[httpx.Request] = []
    await meter(lambda _: httpx.Response(200, json={"ride_id": "r-1"}), seen).cancel_ride("r-1")
    assert seen[0].url == f"{BASE}/v0.2/rides/r-1/cancel"


@pytest.mark.parametrize(
    ("status", "code", "error", "reason"),
    [
        (404, "ride_not_found", PeerNotFound, "ride_not_found"),
        (409, "ride_cancelled", PeerRejected, "ride_cancelled"),
        (400, "driver_mismatch", PeerRejected, "driver_mismatch"),
        (401, "unauthorized", PeerRejected, "unauthorized"),
        (500, "boom", PeerUnavailable, "http_500"),
        (503, None, PeerUnavailable, "http_503"),
    ],
)
async def test_vendor_errors_map_to_ours(
    status: int, code: str | None, error: type[PeerError], reason: str
) -> None:
    # A vendor that echoes our input in its message must not get it into our error.
    body = {"code": code, "message": f"bad driver_id_number {NUMBER}"} if code else None
    with pytest.raises(error) as caught:
        await meter(lambda _: httpx.Response(status, json=body)).start_ride(command())
    assert type(caught.value) is error
    assert caught.value.reason == reason
    assert NUMBER not in str(caught.value)
    assert caught.value.__cause__ is None


async def test_a_code_that_is_not_a_code_is_not_passed_on() -> None:
    body = {"code": f"bad {NUMBER}", "message": "x"}
    with pytest.raises(PeerRejected) as caught:
        await meter(lambda _: httpx.Response(400, json=body)).start_ride(command())
    assert caught.value.reason == "http_400"


async def test_timeout_is_unavailable_and_counted() -> None:
    before = calls("start_ride", "timeout")

    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(PeerUnavailable) as caught:
        await meter(hang).start_ride(command())
    assert caught.value.reason == "timeout"
    assert caught.value.__cause__ is None
    assert calls("start_ride", "timeout") == before + 1


async def test_connection_failure_is_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(PeerUnavailable):
        await meter(refuse).finish_ride("r-1", Money(Decimal(1), "ILS"))


@pytest.mark.parametrize(
    "answer",
    [b"not json", b"[]", json.dumps({"status": "running"}).encode()],
)
async def test_unreadable_answers_are_unavailable(answer: bytes) -> None:
    with pytest.raises(PeerUnavailable) as caught:
        await meter(lambda _: httpx.Response(200, content=answer)).start_ride(command())
    assert caught.value.reason == "unreadable_answer"
