"""Admission middlewares on a bare ASGI app: body limit before anything reads, in-flight cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from ingress.admission import (
    MAX_BODY_BYTES,
    MAX_HEADER_BYTES,
    BodyLimitMiddleware,
    HeaderLimitMiddleware,
    InFlight,
    InFlightLimitMiddleware,
    PaymentWaiters,
)
from ingress.errors import ApiError, install_error_handlers


def _app(in_flight: InFlight, release: asyncio.Event) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/json")
    async def parsed(body: dict[str, str]) -> dict[str, int]:
        return {"fields": len(body)}

    @app.get("/hold")
    async def hold() -> dict[str, str]:
        await release.wait()
        return {"status": "done"}

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(InFlightLimitMiddleware, in_flight=in_flight)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(HeaderLimitMiddleware)
    return app


@pytest.fixture
def release() -> asyncio.Event:
    return asyncio.Event()


@pytest.fixture
def in_flight() -> InFlight:
    return InFlight(2)


@pytest.fixture
async def client(in_flight: InFlight, release: asyncio.Event) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(in_flight, release))
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as c:
        yield c


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_a_body_at_the_limit_passes(client: httpx.AsyncClient) -> None:
    answer = await client.post("/echo", content=b"x" * MAX_BODY_BYTES)
    assert answer.json() == {"bytes": MAX_BODY_BYTES}


@pytest.mark.parametrize("path", ["/echo", "/json"])
@pytest.mark.parametrize("chunked", [False, True])
async def test_a_body_over_the_limit_is_413(
    client: httpx.AsyncClient, path: str, chunked: bool
) -> None:
    data = json.dumps({"a": "x" * MAX_BODY_BYTES}).encode()
    answer = await client.post(path, content=_chunks(data) if chunked else data)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    reached = False

    async def app(scope: object, receive: object, send: object) -> None:
        nonlocal reached
        reached = True

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        raise AssertionError("the body must not be read")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", str(100 * 2**20).encode())],
    }
    await BodyLimitMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]
    assert not reached
    assert sent[0]["status"] == 413


async def test_past_the_in_flight_cap_a_request_is_503_at_once(
    client: httpx.AsyncClient, in_flight: InFlight, release: asyncio.Event
) -> None:
    held = [asyncio.create_task(client.get("/hold")) for _ in range(2)]
    while in_flight.count < 2:
        await asyncio.sleep(0.01)
    refused = await client.get("/hold")
    assert (refused.status_code, refused.json()["code"]) == (503, "unavailable")
    assert refused.headers["retry-after"] == "1"
    assert (await client.get("/ping")).status_code == 200  # liveness is never shed
    release.set()
    assert [a.status_code for a in await asyncio.gather(*held)] == [200, 200]
    assert in_flight.count == 0
    assert (await client.get("/hold")).status_code == 200


def test_waiters_for_one_payment_are_capped_and_their_places_freed() -> None:
    waiters = PaymentWaiters(2)
    with waiters.waiting("mobi", "1"), waiters.waiting("mobi", "1"):
        with pytest.raises(ApiError) as caught, waiters.waiting("mobi", "1"):
            pass
        assert caught.value.status == 503
        with waiters.waiting("mobi", "2"):  # another payment is not affected
            pass
    with waiters.waiting("mobi", "1"):
        pass


async def test_headers_over_the_limit_are_431(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ping", headers={"X-Filler": "f" * 1000})).status_code == 200
    answer = await client.get("/ping", headers={"X-Filler": "f" * MAX_HEADER_BYTES})
    assert (answer.status_code, answer.json()["code"]) == (431, "request_header_fields_too_large")
