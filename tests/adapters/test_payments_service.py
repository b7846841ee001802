"""HttpPaymentsService against a MockTransport: bodies sent, answers read, errors mapped."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
import httpx
import pytest

from processors.adapters.payments_service import HttpPaymentsService
from processors.peer_errors import PeerNotFound, PeerRejected, PeerUnavailable
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentMerchant,
    MerchPaymentStatus,
)

BASE = "http://payments.test/contractor-merch-payments"
CREATE = CreateMerchPayment(
    payment_id="p-1",
    qr_code="qr",
    amount=15050,
    currency="RUB",
    partner="mobi",
    external_id="9000001",
    merchant=MerchPaymentMerchant(id="m-17"),
)


def _service(handler: Callable[[httpx.Request], httpx.Response]) -> HttpPaymentsService:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpPaymentsService(client, BASE, timeout_s=1.0)


async def test_create_posts_the_contracts_body_and_reads_the_state() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"payment_id": "p-1", "status": "pending_acceptance"})

    state = await _service(handler).create(CREATE)
    assert state.status is MerchPaymentStatus.PENDING_ACCEPTANCE
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/internal/v1/payments"
    assert json.loads(request.content)["payment_id"] == "p-1"


async def test_get_cancel_and_refund_use_the_payments_path() -> None:
    paths: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append((request.method, request.url.path))
        if request.url.path.endswith("/refunds"):
            body = {"refund_id": "r-1", "payment_id": "p-1", "amount": 5, "refunded_total": 5}
            return httpx.Response(200, json=body)
        return httpx.Response(200, json={"payment_id": "p-1", "status": "cancelled"})

    service = _service(handler)
    await service.get("p-1")
    await service.cancel("p-1")
    refund = await service.refund("p-1", CreateMerchRefund(refund_id="r-1", amount=5))
    assert refund.refunded_total == 5
    prefix = "/contractor-merch-payments/internal/v1/payments/p-1"
    assert paths == [("GET", prefix), ("POST", f"{prefix}/cancel"), ("POST", f"{prefix}/refunds")]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_is_unavailable_with_an_unknown_outcome(status: int) -> None:
    service = _service(lambda _: httpx.Response(status, json={"code": "boom", "message": ""}))
    with pytest.raises(PeerUnavailable) as caught:
        await service.create(CREATE)
    assert caught.value.request_not_sent is False


async def test_a_refused_connection_means_nothing_was_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(PeerUnavailable) as caught:
        await _service(handler).create(CREATE)
    assert caught.value.request_not_sent is True


async def test_a_connection_cut_after_sending_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        # What the aiohttp transport raises for a server that hung up mid-request.
        raise httpx.ConnectTimeout("gone") from aiohttp.ServerDisconnectedError()

    with pytest.raises(PeerUnavailable) as caught:
        await _service(handler).create(CREATE)
    assert caught.value.request_not_sent is False


async def test_a_timeout_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(PeerUnavailable) as caught:
        await _service(handler).create(CREATE)
    assert caught.value.request_not_sent is False


async def test_not_found_and_refusals_keep_the_services_code() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"code": "payment_not_found", "message": ""})
        return httpx.Response(409, json={"code": "refund_exceeds_payment", "message": ""})

    service = _service(handler)
    with pytest.raises(PeerNotFound):
        await service.get("p-1")
    with pytest.raises(PeerRejected) as caught:
        await service.refund("p-1", CreateMerchRefund(refund_id="r", amount=1))
    assert caught.value.reason == "refund_exceeds_payment"


async def test_an_unreadable_answer_is_an_unknown_outcome() -> None:
    service = _service(lambda _: httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(PeerUnavailable):
        await service.create(CREATE)


async def test_the_correlation_id_travels_to_the_service() -> None:
    from observability.logs import correlation

    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("correlation-id"))
        return httpx.Response(200, json={"payment_id": "p-1", "status": "confirmed"})

    with correlation("c-42"):
        await _service(handler).get("p-1")
    assert seen == ["c-42"]


async def test_over_a_plain_aiohttp_session_answers_and_failures_map_the_same() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        assert request.headers["correlation-id"] == "c-7"
        return web.json_response({"payment_id": body["payment_id"], "status": "confirmed"})

    async def cancel(_: web.Request) -> web.Response:
        return web.json_response({"code": "payment_not_cancellable", "message": ""}, status=409)

    app = web.Application()
    app.router.add_post("/p/internal/v1/payments", create)
    app.router.add_post("/p/internal/v1/payments/p-1/cancel", cancel)
    from observability.logs import correlation

    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        service = HttpPaymentsService(session, str(server.make_url("/p")), timeout_s=1.0)
        with correlation("c-7"):
            state = await service.create(CREATE)
        assert state.status is MerchPaymentStatus.CONFIRMED
        with pytest.raises(PeerRejected) as rejected:
            await service.cancel("p-1")
        assert rejected.value.reason == "payment_not_cancellable"
        port = server.port
    async with aiohttp.ClientSession() as session:  # the server is gone: refused
        service = HttpPaymentsService(session, f"http://127.0.0.1:{port}/p", timeout_s=1.0)
        with pytest.raises(PeerUnavailable) as refused:
            await service.create(CREATE)
        assert refused.value.request_not_sent is True
