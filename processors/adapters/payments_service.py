"""Client of contractor-merch-payments (contract section 5): `HttpPaymentsService`.

Uses the worker's shared httpx client; every call has its own timeout and metric.
The peer's failures become the payments port's errors: a refused connection
(`PeerUnavailable(request_not_sent=True)`: nothing was created), 5xx, timeouts,
broken connections and unreadable bodies (`PeerUnavailable`: outcome unknown),
404 (`PeerNotFound`) and other 4xx (`PeerRejected` with the peer's code).
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

import aiohttp
import httpx
import structlog
from pydantic import BaseModel, ValidationError

from observability.logs import correlation_id_var
from observability.peer_metrics import record_peer_call
from processors.payments.ports import PeerNotFound, PeerRejected, PeerUnavailable
from schemas.merch_payments import (
    CreateMerchPayment,
    CreateMerchRefund,
    MerchPaymentState,
    MerchRefund,
)

log = structlog.get_logger(__name__)

PEER = "contractor-merch-payments"

Model = TypeVar("Model", bound=BaseModel)


def _never_sent(exc: httpx.TransportError) -> bool:
    """Whether the request surely did not reach the service (connection refused)."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        # The aiohttp transport maps every broken connection, even one cut after the
        # request went out, to ConnectTimeout; only its connector error means "refused".
        return isinstance(cause, aiohttp.ClientConnectorError)
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


class HttpPaymentsService:
    def __init__(self, client: httpx.AsyncClient, base_url: str, timeout_s: float) -> None:
        self._client = client
        self._base = base_url.rstrip("/") + "/internal/v1/payments"
        self._timeout = httpx.Timeout(timeout_s)

    async def create(self, request: CreateMerchPayment) -> MerchPaymentState:
        return await self._call(
            "create", "POST", self._base, MerchPaymentState, request.model_dump(mode="json")
        )

    async def get(self, payment_id: str) -> MerchPaymentState:
        return await self._call("get", "GET", f"{self._base}/{payment_id}", MerchPaymentState)

    async def cancel(self, payment_id: str) -> MerchPaymentState:
        return await self._call(
            "cancel", "POST", f"{self._base}/{payment_id}/cancel", MerchPaymentState, {}
        )

    async def refund(self, payment_id: str, request: CreateMerchRefund) -> MerchRefund:
        return await self._call(
            "refund",
            "POST",
            f"{self._base}/{payment_id}/refunds",
            MerchRefund,
            request.model_dump(mode="json"),
        )

    async def _call(
        self,
        operation: str,
        method: str,
        url: str,
        answer: type[Model],
        body: dict[str, Any] | None = None,
    ) -> Model:
        headers = {}
        correlation_id = correlation_id_var.get()
        if correlation_id is not None:
            headers["correlation-id"] = correlation_id
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            try:
                response = await self._client.request(
                    method, url, json=body, headers=headers, timeout=self._timeout
                )
            except httpx.TimeoutException as exc:
                if _never_sent(exc):
                    outcome = "refused"
                    raise PeerUnavailable(f"{operation}: refused", request_not_sent=True) from exc
                outcome = "timeout"
                raise PeerUnavailable(f"{operation}: timed out") from exc
            except httpx.TransportError as exc:
                never_sent = _never_sent(exc)
                outcome = "refused" if never_sent else "unavailable"
                raise PeerUnavailable(
                    f"{operation}: {type(exc).__name__}", request_not_sent=never_sent
                ) from exc
            status = response.status_code
            if status >= 500:
                raise PeerUnavailable(f"{operation}: HTTP {status}")
            if status == 404:
                outcome = "not_found"
                raise PeerNotFound(f"{operation}: not found")
            if status >= 400:
                outcome = "rejected"
                code = _error_code(response)
                raise PeerRejected(status, code, f"{operation} refused")
            try:
                parsed = answer.model_validate_json(response.content)
            except ValidationError as exc:
                raise PeerUnavailable(f"{operation}: unreadable answer") from exc
            outcome = "ok"
            return parsed
        finally:
            record_peer_call(PEER, operation, outcome, time.perf_counter() - started)


def _error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "unknown"
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) and code else "unknown"
