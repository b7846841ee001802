"""HttpPaymentsService over a real aiohttp session against a local aiohttp server
(the path the worker runs): bodies sent, answers read, errors mapped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import BaseTestServer, TestServer

from observability.logs import correlation
from processors.adapters.payments_service import HttpPaymentsService
from processors.peer_errors import PeerNotFound, PeerRejected, PeerUnavailable
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentMerchant,
    MerchPaymentStatus,
)

PREFIX = "/contractor-merch-payments"
PAYMENTS = f"{PREFIX}/internal/v1/payments"
CREATE = CreateMerchPayment(
    payment_id="p-1",
    qr_code="qr",
    amount=15050,
    currency="RUB",
    partner="mobi",
    external_id="9000001",
    merchant=MerchPaymentMerchant(id="m-17"),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeService:
    """What the local server answers (`answer`), and what it was asked."""

    answer: Handler
    seen: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.seen.append((request.method, request.path, body, dict(request.headers)))
        return await self.answer(request)


def respond(status: int, body: Any) -> Handler:
    async def answer(_: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return answer


@dataclass
class Peer:
    fake: FakeService
    service: HttpPaymentsService
    server: BaseTestServer


@pytest.fixture
async def peer() -> AsyncIterator[Peer]:
    fake = FakeService(respond(200, {"payment_id": "p-1", "status": "confirmed"}))
    app = web.Application()
    app.router.add_route("*", f"{PAYMENTS}{{tail:.*}}", fake.handle)
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        service = HttpPaymentsService(session, str(server.make_url(PREFIX)), timeout_s=0.5)
        yield Peer(fake, service, server)


async def test_create_posts_the_contracts_body_and_reads_the_state(peer: Peer) -> None:
    peer.fake.answer = respond(200, {"payment_id": "p-1", "status": "pending_acceptance"})
    state = await peer.service.create(CREATE)
    assert state.status is MerchPaymentStatus.PENDING_ACCEPTANCE
    [(method, path, body, headers)] = peer.fake.seen
    assert (method, path) == ("POST", PAYMENTS)
    assert body is not None and body["payment_id"] == "p-1" and body["external_id"] == "9000001"
    assert headers["Content-Type"] == "application/json"


async def test_get_cancel_and_refund_use_the_payments_path(peer: Peer) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/refunds"):
            body = {"refund_id": "r-1", "payment_id": "p-1", "amount": 5, "refunded_total": 5}
            return web.json_response(body)
        return web.json_response({"payment_id": "p-1", "status": "cancelled"})

    peer.fake.answer = answer
    await peer.service.get("p-1")
    await peer.service.cancel("p-1")
    refund = await peer.service.refund("p-1", CreateMerchRefund(refund_id="r-1", amount=5))
    assert refund.refunded_total == 5
    paths = [(method, path) for method, path, _, _ in peer.fake.seen]
    one = f"{PAYMENTS}/p-1"
    assert paths == [("GET", one), ("POST", f"{one}/cancel"), ("POST", f"{one}/refunds")]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_unavailable_with_an_unknown_outcome(
    peer: Peer, status: int
) -> None:
    peer.fake.answer = respond(status, {"code": "boom", "message": ""})
    with pytest.raises(PeerUnavailable) as caught:
        await peer.service.create(CREATE)
    assert caught.value.request_not_sent is False


async def test_a_refused_connection_means_nothing_was_sent(peer: Peer) -> None:
    url = str(peer.server.make_url(PREFIX))
    await peer.server.close()
    async with aiohttp.ClientSession() as session:
        service = HttpPaymentsService(session, url, timeout_s=0.5)
        with pytest.raises(PeerUnavailable) as caught:
            await service.create(CREATE)
    assert caught.value.request_not_sent is True


async def test_a_connection_cut_after_sending_is_an_unknown_outcome(peer: Peer) -> None:
    async def hang_up(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    peer.fake.answer = hang_up
    with pytest.raises(PeerUnavailable) as caught:
        await peer.service.create(CREATE)
    assert caught.value.request_not_sent is False
    assert len(peer.fake.seen) == 1  # it did reach the service


async def test_a_timeout_is_an_unknown_outcome(peer: Peer) -> None:
    async def slow(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)  # past the client's 0.5 s; the client gives up first
        return web.json_response({"payment_id": "p-1", "status": "confirmed"})

    peer.fake.answer = slow
    with pytest.raises(PeerUnavailable) as caught:
        await peer.service.create(CREATE)
    assert caught.value.request_not_sent is False
    assert caught.value.reason == "timed out"


async def test_not_found_and_refusals_keep_the_services_code(peer: Peer) -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response({"code": "payment_not_found", "message": ""}, status=404)
        return web.json_response({"code": "refund_exceeds_payment", "message": ""}, status=409)

    peer.fake.answer = answer
    with pytest.raises(PeerNotFound):
        await peer.service.get("p-1")
    with pytest.raises(PeerRejected) as caught:
        await peer.service.refund("p-1", CreateMerchRefund(refund_id="r", amount=1))
    assert caught.value.reason == "refund_exceeds_payment"
    assert not isinstance(caught.value, PeerNotFound)


async def test_a_refusal_without_a_readable_code_is_unknown(peer: Peer) -> None:
    async def answer(_: web.Request) -> web.StreamResponse:
        return web.Response(status=409, text="no json here")

    peer.fake.answer = answer
    with pytest.raises(PeerRejected) as caught:
        await peer.service.cancel("p-1")
    assert caught.value.reason == "unknown"


async def test_an_unreadable_answer_is_an_unknown_outcome(peer: Peer) -> None:
    async def answer(_: web.Request) -> web.StreamResponse:
        return web.Response(status=200, text="<html>oops</html>")

    peer.fake.answer = answer
    with pytest.raises(PeerUnavailable) as caught:
        await peer.service.create(CREATE)
    assert caught.value.request_not_sent is False


async def test_the_correlation_id_travels_to_the_service(peer: Peer) -> None:
    with correlation("c-42"):
        await peer.service.get("p-1")
    [(_, _, _, headers)] = peer.fake.seen
    assert headers["correlation-id"] == "c-42"
